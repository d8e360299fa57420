/**
 * The Dockerfile, checked statically (there is no Docker engine here): a multi-stage build whose
 * runtime stage holds only the compiled code and production dependencies, runs as a non-root
 * user, carries no secrets, and starts package.json's `genai-sidecar` bin with `run` by default.
 * The "catches" table edits the Dockerfile on purpose to show each rule can fail.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RUNTIME_NODE_FLAGS } from '../../src/cli/runtimeFlags';
import { execForm, parseStages, type Stage } from '../helpers/dockerfile';

const ROOT = path.resolve(__dirname, '../..');
const DOCKERFILE = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const DOCKERIGNORE = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8');
const BIN = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin['genai-sidecar'];
/** What the build needs from the context; .dockerignore must let in exactly these. */
const CONTEXT = ['package.json', 'package-lock.json', 'tsconfig.json', 'src'];

test('the Dockerfile follows every rule', () => {
  expect(dockerfileProblems(DOCKERFILE)).toEqual([]);
});

test('.dockerignore lets in exactly what the build copies', () => {
  expect(dockerignoreProblems(DOCKERIGNORE, DOCKERFILE)).toEqual([]);
});

const CATCHES: [string, (text: string) => string, string][] = [
  ['single stage', (d) => d.replace(/FROM gcr\.io[^\n]*/, '').replace(/COPY --from=build \S+/g, 'COPY dist'), 'stages'],
  ['root user', (d) => d.replace('USER 65532:65532', 'USER root'), 'USER'],
  ['no USER', (d) => d.replace(/^USER .*$/m, ''), 'USER'],
  ['dev dependencies shipped', (d) => d.replace(/ \\\n && npm prune[^\n]*/, ''), 'npm prune --omit=dev'],
  ['sources shipped', (d) => d.replace('COPY --from=build /app/dist ./dist', 'COPY --from=build /app ./'), 'only'],
  ['a secret in ENV', (d) => d.replace('ENV NODE_ENV=production', 'ENV NODE_ENV=production OPENAI_API_KEY=sk-123'), 'secret'],
  ['a secret as a build argument', (d) => d.replace('WORKDIR /app\nCOPY package.json', 'ARG NPM_TOKEN\nWORKDIR /app\nCOPY package.json'), 'secret'],
  ['another script', (d) => d.replace('"dist/src/cli/main.js"]', '"dist/main.js"]'), 'ENTRYPOINT'],
  ['runtime flags dropped', (d) => d.replace('"--max-semi-space-size=2", ', ''), 'ENTRYPOINT'],
  ['shell-form entrypoint', (d) => d.replace(/^ENTRYPOINT .*$/m, 'ENTRYPOINT node dist/src/cli/main.js'), 'ENTRYPOINT'],
  ['another default command', (d) => d.replace('CMD ["run"]', 'CMD ["inject"]'), 'CMD'],
  ['unpinned base image', (d) => d.replace('node:20-bookworm-slim', 'node:latest'), 'pinned'],
];

test.each(CATCHES)('catches: %s', (_name, edit, expected) => {
  const edited = edit(DOCKERFILE);
  expect(edited).not.toBe(DOCKERFILE);
  expect(dockerfileProblems(edited).join('\n')).toContain(expected);
});

test('catches: .dockerignore letting in the whole context', () => {
  expect(dockerignoreProblems(DOCKERIGNORE.replace(/^\*$/m, ''), DOCKERFILE).join('\n')).toContain('*');
});

// ---------------------------------------------------------------------------------------------

function dockerfileProblems(text: string): string[] {
  const stages = parseStages(text);
  const problems: string[] = [];
  if (stages.length < 2) return [`expected a build and a runtime stage, found ${stages.length} stages`];
  for (const stage of stages) {
    const pinned = /^[^:@\s]+(:[\w.-]+|@sha256:[0-9a-f]{64})$/.test(stage.image) && !stage.image.endsWith(':latest');
    if (!pinned) problems.push(`FROM ${stage.image}: base image must be pinned to a version`);
  }
  const build = stages[0] as Stage;
  const runtime = stages[stages.length - 1] as Stage;
  const buildRuns = build.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
  for (const step of ['npm ci', 'tsc', 'npm prune --omit=dev']) {
    if (!buildRuns.includes(step)) problems.push(`build stage must run ${step}`);
  }
  if (!/^(gcr\.io\/distroless\/nodejs20-debian\d+|node:20[\w.-]*-slim)/.test(runtime.image)) {
    problems.push(`runtime stage must be distroless nodejs20 or node:20-slim, got ${runtime.image}`);
  }

  const copies = runtime.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD');
  const shipped = copies.map((i) => i.args.split(/\s+/).filter((a) => !a.startsWith('--'))[0] ?? '');
  const allowed = ['/app/package.json', '/app/node_modules', '/app/dist'];
  if (copies.some((i) => !i.args.startsWith(`--from=${build.name ?? ''} `)) || shipped.some((source) => !allowed.includes(source))) {
    problems.push(`runtime stage must copy only ${allowed.join(', ')} from the build stage, got ${shipped.join(', ')}`);
  }

  const user = runtime.instructions.filter((i) => i.keyword === 'USER').pop()?.args ?? '';
  if (!/^[1-9]\d*(:[1-9]\d*)?$/.test(user)) problems.push(`runtime stage must end with a numeric non-root USER, got "${user}"`);

  for (const i of stages.flatMap((s) => s.instructions)) {
    const secretName = ['ENV', 'ARG', 'LABEL'].includes(i.keyword) && /(KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL)/i.test(i.args);
    const secretFile = /\.npmrc|\.env\b|id_rsa|sk-[A-Za-z0-9]/.test(i.args);
    if (secretName || secretFile) problems.push(`${i.keyword} ${i.args}: looks like a secret baked into the image`);
  }

  const entrypoint = execForm(runtime, 'ENTRYPOINT');
  const expected = ['node', ...RUNTIME_NODE_FLAGS, BIN];
  const matches = entrypoint?.length === expected.length && path.posix.basename(entrypoint[0] ?? '') === 'node' && entrypoint.slice(1).every((arg, i) => arg === expected[i + 1]);
  if (!matches) {
    problems.push(`ENTRYPOINT must be the exec form [node, ${RUNTIME_NODE_FLAGS.map((f) => `"${f}"`).join(', ')}, "${String(BIN)}"] (runtime flags, package.json bin), got ${JSON.stringify(entrypoint)}`);
  }
  const cmd = execForm(runtime, 'CMD');
  if (JSON.stringify(cmd) !== '["run"]') problems.push(`CMD must be ["run"], got ${JSON.stringify(cmd)}`);
  return problems;
}

function dockerignoreProblems(ignore: string, dockerfile: string): string[] {
  const patterns = ignore.split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
  const problems: string[] = [];
  if (patterns[0] !== '*') problems.push('.dockerignore must start with * (deny everything, then allow what the build needs)');
  const allowed = patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1).replace(/\/$/, ''));
  if (JSON.stringify([...allowed].sort()) !== JSON.stringify([...CONTEXT].sort())) {
    problems.push(`.dockerignore must allow exactly ${CONTEXT.join(', ')}, got ${allowed.join(', ')}`);
  }
  const fromContext = parseStages(dockerfile)
    .flatMap((s) => s.instructions)
    .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))
    .flatMap((i) => i.args.split(/\s+/).slice(0, -1))
    .map((source) => source.replace(/^\.\//, '').replace(/\/$/, ''));
  for (const source of fromContext) {
    if (!CONTEXT.includes(source)) problems.push(`COPY ${source}: not in the build context .dockerignore allows`);
  }
  return problems;
}

test('make run starts node with the same runtime flags as the image', () => {
  const makefile = readFileSync(path.join(ROOT, 'Makefile'), 'utf8');
  expect(makefile).toMatch(/^RUNTIME_NODE_FLAGS := (.*)$/m);
  expect(/^RUNTIME_NODE_FLAGS := (.*)$/m.exec(makefile)?.[1]?.split(/\s+/)).toEqual([...RUNTIME_NODE_FLAGS]);
  expect(makefile).toMatch(/^\tnode \$\(RUNTIME_NODE_FLAGS\) dist\/src\/cli\/main\.js run \$\(ARGS\)$/m);
});

test('this Node accepts every runtime flag (a misspelt one stops node with "bad option")', () => {
  const args = [...RUNTIME_NODE_FLAGS, '-e', 'process.stdout.write(JSON.stringify(process.execArgv))'];
  const run = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 20_000 });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(JSON.parse(run.stdout)).toEqual(args);
});
