/**
 * collector/Dockerfile, checked statically (there is no Docker engine here) against what it
 * builds from and what runs it: the builder it installs is the release collector/builder-config.yaml
 * pins its modules at, it builds that manifest without CGO and ships exactly the binary the
 * manifest names, as a non-root user on distroless/static, exposing the ports the shipped configs
 * listen on. docker-compose.yaml and k8s/ run the image it documents (compose.test.ts,
 * k8sManifests.test.ts). The "catches" table edits the Dockerfile on purpose to show every rule
 * can fail.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { argDefault, execForm, labelsOf, parseStages, type Instruction, type Stage } from '../helpers/dockerfile';

const ROOT = path.resolve(__dirname, '../..');
const read = (relative: string): string => readFileSync(path.join(ROOT, relative), 'utf8');

const DOCKERFILE_PATH = 'collector/Dockerfile';
const DOCKERFILE = read(DOCKERFILE_PATH);
const DOCKERIGNORE = read(`${DOCKERFILE_PATH}.dockerignore`);
const MANIFEST_PATH = 'collector/builder-config.yaml';
/** The configs the image runs: the writers' (and compose's) and the routers'. */
const CONFIGS = ['collector-config.yaml', 'collector/router-config.yaml'];

interface Manifest {
  dist: { name: string; version: string; output_path: string };
  receivers: Array<{ gomod: string }>;
}
const manifest = parse(read(MANIFEST_PATH)) as Manifest;
/** The collector release of the manifest's modules, as scripts/build-collector.sh reads it. */
const RELEASE = /go\.opentelemetry\.io\/collector\/receiver\/otlpreceiver (v0\.\d+\.\d+)/.exec(read(MANIFEST_PATH))?.[1];
const IMAGE = `ghcr.io/genai-sidecar/${manifest.dist.name}:${manifest.dist.version}`;

test('collector/builder-config.yaml names the binary, its version and one collector release', () => {
  expect(manifest.dist.name).toBe('otelcol-genai');
  expect(manifest.dist.version).toMatch(/^\d+\.\d+\.\d+-genai\.\d+$/);
  expect(RELEASE).toBeDefined();
  // dist.version starts with the release it is built from.
  expect(manifest.dist.version.startsWith(`${RELEASE?.slice(1)}-`)).toBe(true);
});

test('collector/Dockerfile follows every rule', () => {
  expect(dockerfileProblems(DOCKERFILE)).toEqual([]);
});

test('collector/Dockerfile.dockerignore lets in exactly what the build copies', () => {
  expect(dockerignoreProblems(DOCKERIGNORE, DOCKERFILE)).toEqual([]);
});

const CATCHES: [string, (text: string) => string, string][] = [
  ['single stage', (d) => d.replace(/FROM gcr\.io[^\n]*/, '').replace(/COPY --from=build \S+/, 'COPY _build/otelcol-genai'), 'stages'],
  ['another builder release', (d) => d.replace('OTELCOL_BUILDER_VERSION=v0.161.0', 'OTELCOL_BUILDER_VERSION=v0.160.0'), 'OTELCOL_BUILDER_VERSION'],
  ['the builder at a literal version', (d) => d.replace('builder@${OTELCOL_BUILDER_VERSION}', 'builder@latest'), 'go install'],
  ['a Go too old for the builder', (d) => d.replace('golang:1.26-bookworm', 'golang:1.24-bookworm'), 'Go 1.26'],
  ['an unpinned base image', (d) => d.replace('golang:1.26-bookworm', 'golang:latest'), 'pinned'],
  ['CGO on', (d) => d.replace('CGO_ENABLED=0', 'CGO_ENABLED=1'), 'CGO_ENABLED=0'],
  ['another manifest', (d) => d.replace('COPY collector/builder-config.yaml ./builder-config.yaml', 'COPY collector/other.yaml ./builder-config.yaml'), MANIFEST_PATH],
  ['the binary from the wrong place', (d) => d.replace('COPY --from=build /src/_build/otelcol-genai', 'COPY --from=build /src/otelcol-genai'), '/src/_build/otelcol-genai'],
  ['another binary name', (d) => d.replace('ENTRYPOINT ["/otelcol-genai"]', 'ENTRYPOINT ["/otelcol"]'), 'ENTRYPOINT'],
  ['a shell-form entrypoint', (d) => d.replace('ENTRYPOINT ["/otelcol-genai"]', 'ENTRYPOINT /otelcol-genai'), 'ENTRYPOINT'],
  ['no default config', (d) => d.replace('CMD ["--config=/etc/otelcol-genai/config.yaml"]', 'CMD []'), 'CMD'],
  ['a glibc runtime', (d) => d.replace('gcr.io/distroless/static-debian12:nonroot', 'gcr.io/distroless/base-debian12:nonroot'), 'distroless/static'],
  ['root user', (d) => d.replace('USER 65532:65532', 'USER 0'), 'USER'],
  ['no USER', (d) => d.replace(/^USER .*$/m, ''), 'USER'],
  ['a port missing', (d) => d.replace('EXPOSE 4317 4318 8888 13133', 'EXPOSE 4317 4318 13133'), '8888'],
  ['a port the configs do not open', (d) => d.replace('EXPOSE 4317 4318 8888 13133', 'EXPOSE 4317 4318 8888 13133 55679'), 'EXPOSE'],
  ['a stale version label', (d) => d.replace('org.opencontainers.image.version="0.161.0-genai.1"', 'org.opencontainers.image.version="0.160.0-genai.1"'), 'dist.version'],
  ['a stale documented tag', (d) => d.replace('-t ghcr.io/genai-sidecar/otelcol-genai:0.161.0-genai.1', '-t ghcr.io/genai-sidecar/otelcol-genai:0.160.0-genai.1'), IMAGE],
  ['a secret as a build argument', (d) => d.replace('ARG TARGETOS\n', 'ARG TARGETOS\nARG GITHUB_TOKEN\n'), 'secret'],
];

test.each(CATCHES)('catches: %s', (_name, edit, expected) => {
  const edited = edit(DOCKERFILE);
  expect(edited).not.toBe(DOCKERFILE);
  expect(dockerfileProblems(edited).join('\n')).toContain(expected);
});

test('catches: .dockerignore letting in the whole context, or not the manifest', () => {
  expect(dockerignoreProblems(DOCKERIGNORE.replace(/^\*$/m, ''), DOCKERFILE).join('\n')).toContain('*');
  expect(dockerignoreProblems(DOCKERIGNORE.replace(`!${MANIFEST_PATH}`, '!collector/'), DOCKERFILE).join('\n')).toContain(MANIFEST_PATH);
});

// ---------------------------------------------------------------------------------------------

function dockerfileProblems(text: string): string[] {
  const stages = parseStages(text);
  if (stages.length !== 2) return [`expected a build and a runtime stage, found ${stages.length} stages`];
  const [build, runtime] = stages as [Stage, Stage];
  const problems: string[] = [];
  for (const stage of stages) {
    const pinned = /^[^:@\s]+(:[\w.-]+|@sha256:[0-9a-f]{64})$/.test(stage.image) && !stage.image.endsWith(':latest');
    if (!pinned) problems.push(`FROM ${stage.image}: base image must be pinned to a version`);
  }

  // Build stage: Go new enough for the builder, the builder at the manifest's release.
  const go = /^golang:(\d+)\.(\d+)/.exec(build.image);
  // go.opentelemetry.io/collector/cmd/builder v0.161.0's go.mod says `go 1.26.0`, and the golang
  // image sets GOTOOLCHAIN=local (no download of a newer toolchain).
  if (!go || Number(go[1]) * 100 + Number(go[2]) < 126) problems.push(`build stage must be a golang image with Go 1.26 or newer, got ${build.image}`);
  const builderVersion = argDefault(build, 'OTELCOL_BUILDER_VERSION');
  if (builderVersion !== RELEASE) problems.push(`ARG OTELCOL_BUILDER_VERSION=${String(builderVersion)} must equal the release of ${MANIFEST_PATH} (${String(RELEASE)})`);
  const runs = build.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
  if (!runs.some((run) => /\bgo install "?go\.opentelemetry\.io\/collector\/cmd\/builder@\$\{?OTELCOL_BUILDER_VERSION\}?"?(\s|$)/.test(run))) {
    problems.push('build stage must `go install go.opentelemetry.io/collector/cmd/builder@${OTELCOL_BUILDER_VERSION}`');
  }

  // The manifest goes in, the builder runs on it without CGO, the binary comes out.
  const copied = build.instructions.find((i) => i.keyword === 'COPY' && i.args.split(/\s+/)[0] === MANIFEST_PATH);
  const workdir = (before: Instruction): string =>
    build.instructions
      .slice(0, build.instructions.indexOf(before))
      .filter((i) => i.keyword === 'WORKDIR')
      .reduce((dir, i) => path.posix.resolve(dir, i.args), '/');
  if (!copied) return [...problems, `build stage must COPY ${MANIFEST_PATH}`];
  const manifestInImage = path.posix.resolve(workdir(copied), copied.args.split(/\s+/)[1] ?? '');
  const buildRun = build.instructions.find((i) => i.keyword === 'RUN' && /\bbuilder\s+--config[= ]/.test(i.args));
  if (!buildRun) return [...problems, 'build stage must run `builder --config=...`'];
  const dir = workdir(buildRun);
  const configArg = /\bbuilder\s+--config[= ]"?([^\s"]+)/.exec(buildRun.args)?.[1] ?? '';
  if (path.posix.resolve(dir, configArg) !== manifestInImage) problems.push(`the builder must read ${manifestInImage} (${MANIFEST_PATH}), got --config=${configArg}`);
  if (!/\bCGO_ENABLED=0\b[^&;|]*\bbuilder\s/.test(buildRun.args)) problems.push('the builder must run with CGO_ENABLED=0 (a static binary for distroless/static)');
  const binary = path.posix.resolve(dir, manifest.dist.output_path, manifest.dist.name);

  // Runtime stage: the binary alone, as a non-root user.
  if (!/^gcr\.io\/distroless\/static-debian\d+:nonroot$/.test(runtime.image)) problems.push(`runtime stage must be gcr.io/distroless/static-debian*:nonroot, got ${runtime.image}`);
  const copies = runtime.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD');
  const expectedCopy = `--from=${build.name ?? ''} ${binary} /${manifest.dist.name}`;
  if (copies.length !== 1 || copies[0]?.args !== expectedCopy) problems.push(`runtime stage must only COPY ${expectedCopy}, got ${copies.map((i) => i.args).join('; ')}`);
  const user = runtime.instructions.filter((i) => i.keyword === 'USER').pop()?.args ?? '';
  if (!/^[1-9]\d*(:[1-9]\d*)?$/.test(user)) problems.push(`runtime stage must end with a numeric non-root USER, got "${user}"`);
  const entrypoint = execForm(runtime, 'ENTRYPOINT');
  if (JSON.stringify(entrypoint) !== JSON.stringify([`/${manifest.dist.name}`])) problems.push(`ENTRYPOINT must be ["/${manifest.dist.name}"] (dist.name), got ${JSON.stringify(entrypoint)}`);
  const cmd = execForm(runtime, 'CMD');
  if (cmd?.length !== 1 || !/^--config=\/\S+\.yaml$/.test(cmd[0] ?? '')) problems.push(`CMD must be ["--config=/<absolute path>.yaml"], got ${JSON.stringify(cmd)}`);

  const exposed = runtime.instructions.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/)).map((port) => Number(port.split('/')[0]));
  const listened = [...new Set(CONFIGS.flatMap(listenPorts))];
  if (JSON.stringify([...exposed].sort()) !== JSON.stringify([...listened].sort())) {
    problems.push(`EXPOSE must be exactly the ports ${CONFIGS.join(' and ')} listen on (${listened.join(' ')}), got ${exposed.join(' ')}`);
  }

  const labels = labelsOf(runtime);
  if (labels['org.opencontainers.image.version'] !== manifest.dist.version) problems.push(`LABEL org.opencontainers.image.version must be dist.version ${manifest.dist.version}`);
  if (labels['org.opencontainers.image.title'] !== manifest.dist.name) problems.push(`LABEL org.opencontainers.image.title must be dist.name ${manifest.dist.name}`);
  if (!text.includes(`docker build -f ${DOCKERFILE_PATH} -t ${IMAGE} .`)) problems.push(`the header must show the build command that tags ${IMAGE}, the image compose and k8s run`);

  for (const i of stages.flatMap((s) => s.instructions)) {
    const secretName = ['ENV', 'ARG', 'LABEL'].includes(i.keyword) && /(KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL)/i.test(i.args);
    if (secretName) problems.push(`${i.keyword} ${i.args}: looks like a secret baked into the image`);
  }
  return problems;
}

function dockerignoreProblems(ignore: string, dockerfile: string): string[] {
  const patterns = ignore.split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
  const problems: string[] = [];
  if (patterns[0] !== '*') problems.push('the .dockerignore must start with * (deny everything, then allow what the build needs)');
  const allowed = patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1).replace(/\/$/, ''));
  const fromContext = parseStages(dockerfile)
    .flatMap((s) => s.instructions)
    .filter((i) => (i.keyword === 'COPY' || i.keyword === 'ADD') && !i.args.startsWith('--from'))
    .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
  if (JSON.stringify([...allowed].sort()) !== JSON.stringify([...fromContext].sort())) {
    problems.push(`the .dockerignore must allow exactly what the Dockerfile copies (${fromContext.join(', ')}), got ${allowed.join(', ')}`);
  }
  return problems;
}

/** The ports a collector config listens on: OTLP gRPC and HTTP, health_check, its own metrics. */
function listenPorts(relative: string): number[] {
  const config = parse(read(relative)) as {
    receivers: { otlp: { protocols: { grpc: { endpoint: string }; http: { endpoint: string } } } };
    extensions: { health_check: { endpoint: string } };
    service: { telemetry: { metrics: { readers: Array<{ pull?: { exporter: { prometheus: { port: number } } } }> } } };
  };
  const port = (endpoint: string): number => Number(endpoint.split(':').pop());
  return [
    port(config.receivers.otlp.protocols.grpc.endpoint),
    port(config.receivers.otlp.protocols.http.endpoint),
    port(config.extensions.health_check.endpoint),
    ...config.service.telemetry.metrics.readers.flatMap((reader) => (reader.pull ? [reader.pull.exporter.prometheus.port] : [])),
  ];
}

