/**
 * docker-compose.yaml and demo/, checked offline (there is no Docker engine here): the services
 * exist, every mount exists in the repository and lands where the program inside reads it,
 * ports agree with collector-config.yaml, the sidecar's environment is made of real flag
 * variables and resolves to the intended configuration, the demo TypeScript type-checks, and
 * the demo's fake provider and traffic generator, run against the real sidecar, produce the
 * metrics the dashboards chart. The collector is the project's own build (collector/Dockerfile;
 * collectorDockerfile.test.ts checks the image itself).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { parse, parseDocument } from 'yaml';
import { z } from 'zod';
import { anthropicMessages, createContext, openAiChat, startFakeProvider, type RunningFakeProvider } from '../../demo/fakeProvider';
import { seededRandom } from '../../demo/random';
import { runTraffic, SCENARIOS } from '../../demo/traffic';
import { RUN_FLAGS, resolveRunConfig } from '../../src/cli/runFlags';
import { createLogger } from '../../src/log/logger';
import { startSidecar, type RunningSidecar } from '../../src/sidecar';
import { COLLECTOR_JOB } from '../../src/telemetry/collectorNames';
import { ATTR, METRICS, TOKEN_DETAIL_TYPE } from '../../src/telemetry/names';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedPoint } from '../helpers/otlpReceiver';
import { collectorEnv } from '../helpers/k8sRules';
import { RUNTIME_NODE_FLAGS } from '../../src/cli/runtimeFlags';

const ROOT = path.resolve(__dirname, '../..');
const read = (relative: string): string => readFileSync(path.join(ROOT, relative), 'utf8');

const serviceSchema = z
  .object({
    image: z.string().optional(),
    build: z.object({ context: z.string(), dockerfile: z.string() }).optional(),
    command: z.union([z.string(), z.array(z.string())]).optional(),
    environment: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    volumes: z.array(z.string()).default([]),
    ports: z.array(z.string()).default([]),
    expose: z.array(z.string()).default([]),
    depends_on: z.record(z.string(), z.object({ condition: z.string() })).default({}),
    healthcheck: z.object({ test: z.array(z.string()) }).passthrough().optional(),
    networks: z.record(z.string(), z.object({ aliases: z.array(z.string()).default([]) }).strict().nullable()).optional(),
  })
  .strict();
const composeSchema = z.object({
  name: z.string().optional(),
  services: z.record(z.string(), serviceSchema),
  volumes: z.record(z.string(), z.unknown().nullable()).default({}),
});
type Service = z.infer<typeof serviceSchema>;

const composeDocument = parseDocument(read('docker-compose.yaml'));
const compose = composeSchema.parse(composeDocument.toJS());
const collectorConfig = parse(read('collector-config.yaml')) as Record<string, Record<string, unknown>>;
const collectorManifest = parse(read('collector/builder-config.yaml')) as { dist: { name: string; version: string } };
/** The image collector/Dockerfile builds (its header's `docker build -t`, checked in collectorDockerfile.test.ts). */
const COLLECTOR_IMAGE = `ghcr.io/genai-sidecar/${collectorManifest.dist.name}:${collectorManifest.dist.version}`;

function service(name: string): Service {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yaml has no service ${name}`);
  return found;
}

const env = (name: string): Record<string, string> =>
  Object.fromEntries(Object.entries(service(name).environment ?? {}).map(([key, value]) => [key, String(value)]));
const command = (name: string): string[] => {
  const value = service(name).command ?? [];
  return Array.isArray(value) ? value : value.split(/\s+/);
};
/** Network aliases of a service on the default network. */
const aliases = (name: string): string[] => service(name).networks?.default?.aliases ?? [];

interface Mount {
  source: string;
  target: string;
  bind: boolean;
}
function mounts(name: string): Mount[] {
  return service(name).volumes.map((spec) => {
    const [source = '', target = ''] = spec.split(':');
    return { source, target, bind: source.startsWith('.') || source.startsWith('/') };
  });
}
const mountOf = (name: string, source: string): Mount | undefined => mounts(name).find((m) => m.source === source);

/** Container ports a service publishes ("host:container" or "container"). */
const publishedPorts = (name: string): number[] => service(name).ports.map((spec) => Number(spec.split(':').pop()));
const portOf = (hostPort: string | undefined): number => Number(hostPort?.split(':').pop());
/** Value of `--flag=value` in a command. */
const flagValue = (args: string[], flag: string): string | undefined => args.find((arg) => arg.startsWith(`${flag}=`))?.slice(flag.length + 1);

const nested = (value: unknown, ...keys: string[]): unknown =>
  keys.reduce<unknown>((current, key) => (current !== null && typeof current === 'object' ? (current as Record<string, unknown>)[key] : undefined), value);

/** Dockerfile instructions with continuation lines joined and comments dropped. */
function dockerfile(relative: string): Array<{ instruction: string; args: string }> {
  return read(relative)
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [instruction = '', ...rest] = line.split(/\s+/);
      return { instruction: instruction.toUpperCase(), args: rest.join(' ') };
    });
}

const SIDECAR_ENV_NAMES = new Set(RUN_FLAGS.flatMap((flag) => flag.env));
const sidecarConfig = () => resolveRunConfig({}, env('sidecar'), 'compose');

describe('docker-compose.yaml', () => {
  test('parses without errors or duplicate keys and defines the six services', () => {
    expect(composeDocument.errors).toEqual([]);
    expect(Object.keys(compose.services).sort()).toEqual(
      expect.arrayContaining(['fake-provider', 'grafana', 'otel-collector', 'prometheus', 'sidecar', 'traffic']),
    );
  });

  test('every image is pinned to a version', () => {
    const images = Object.values(compose.services).flatMap((s) => (s.image ? [s.image] : []));
    for (const image of images) expect({ image, pinned: /:[\w.-]+$/.test(image) && !image.endsWith(':latest') }).toEqual({ image, pinned: true });
  });

  test('every bind-mounted path exists in the repository', () => {
    const missing = Object.keys(compose.services).flatMap((name) =>
      mounts(name)
        .filter((m) => m.bind && !existsSync(path.resolve(ROOT, m.source)))
        .map((m) => `${name}: ${m.source}`),
    );
    expect(missing).toEqual([]);
  });

  test('every named volume is declared and every build file exists', () => {
    const undeclared = Object.keys(compose.services).flatMap((name) => mounts(name).filter((m) => !m.bind && !(m.source in compose.volumes)).map((m) => `${name}: ${m.source}`));
    expect(undeclared).toEqual([]);
    for (const s of Object.values(compose.services)) {
      if (s.build) expect(existsSync(path.resolve(ROOT, s.build.context, s.build.dockerfile))).toBe(true);
    }
  });

  test('every depends_on names a service', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      for (const dependency of Object.keys(s.depends_on)) expect({ name, dependency, exists: dependency in compose.services }).toEqual({ name, dependency, exists: true });
    }
  });
});

describe('otel-collector service', () => {
  /** The Dockerfile's CMD (exec form) in the runtime stage, unless compose overrides it. */
  const effectiveCommand = (): string[] => {
    if (service('otel-collector').command !== undefined) return command('otel-collector');
    const cmd = dockerfile(service('otel-collector').build?.dockerfile ?? '').filter((s) => s.instruction === 'CMD').pop();
    return JSON.parse(cmd?.args ?? '[]') as string[];
  };

  test("builds collector/Dockerfile as the image name it documents, with collector-config.yaml where the image's --config points", () => {
    expect(service('otel-collector').build).toEqual({ context: '.', dockerfile: 'collector/Dockerfile' });
    expect(service('otel-collector').image).toBe(COLLECTOR_IMAGE);
    const configPath = flagValue(effectiveCommand(), '--config');
    expect(configPath).toMatch(/^\/\S+\.yaml$/);
    expect(mountOf('otel-collector', './collector-config.yaml')?.target).toBe(configPath);
  });

  test('keeps no state: its config is its only mount (the writer config has no write-ahead log)', () => {
    expect(mounts('otel-collector')).toEqual([{ source: './collector-config.yaml', target: flagValue(effectiveCommand(), '--config'), bind: true }]);
    // A write-ahead log would need a volume (and a service handing it to the image's user).
    expect(nested(collectorConfig.exporters, 'prometheus_remote_write', 'wal')).toBeUndefined();
  });

  test('publishes the ports collector-config.yaml listens on', () => {
    const httpPort = portOf(nested(collectorConfig.receivers, 'otlp', 'protocols', 'http', 'endpoint') as string);
    const grpcPort = portOf(nested(collectorConfig.receivers, 'otlp', 'protocols', 'grpc', 'endpoint') as string);
    const healthPort = portOf(nested(collectorConfig.extensions, 'health_check', 'endpoint') as string);
    const readers = nested(collectorConfig.service, 'telemetry', 'metrics', 'readers') as unknown[];
    const metricsPort = Number(nested(readers[0], 'pull', 'exporter', 'prometheus', 'port'));
    expect(publishedPorts('otel-collector').sort()).toEqual([httpPort, grpcPort, healthPort, metricsPort].sort());
    expect([httpPort, grpcPort, healthPort, metricsPort]).toEqual([4318, 4317, 13133, 8888]);
  });

  test('remote-writes to the prometheus service', () => {
    // collector-config.yaml's ${env:GENAI_REMOTE_WRITE_ENDPOINT:-...}, resolved with the service's environment.
    const environment = Object.entries(env('otel-collector')).map(([name, value]) => ({ name, value }));
    const endpoint = new URL(collectorEnv(String(nested(collectorConfig.exporters, 'prometheus_remote_write', 'http', 'endpoint')), environment));
    expect(endpoint.hostname in compose.services).toBe(true);
    expect(endpoint.hostname).toBe('prometheus');
    expect(publishedPorts('prometheus')).toContain(Number(endpoint.port));
  });
});

describe('prometheus service', () => {
  test('accepts remote write and reads the repository config and rules', () => {
    const args = command('prometheus');
    expect(args).toContain('--web.enable-remote-write-receiver');
    expect(args).toContain('--enable-feature=native-histograms');
    const configFile = flagValue(args, '--config.file');
    expect(configFile).toBe('/etc/prometheus/prometheus.yml');
    expect(mountOf('prometheus', './prometheus/prometheus.yml')?.target).toBe(configFile);
    expect(mountOf('prometheus', './prometheus/rules')).toBeDefined();
    expect(publishedPorts('prometheus')).toContain(9090);
  });

  test("prometheus.yml loads the mounted rules and scrapes the collector's own metrics", () => {
    const prometheus = parse(read('prometheus/prometheus.yml')) as {
      rule_files?: string[];
      scrape_configs?: Array<{ job_name: string; static_configs?: Array<{ targets: string[] }>; dns_sd_configs?: Array<{ names: string[]; type?: string; port?: number }> }>;
    };
    const configDir = path.posix.dirname(flagValue(command('prometheus'), '--config.file') ?? '');
    const rulesTarget = mountOf('prometheus', './prometheus/rules')?.target ?? '';
    for (const file of prometheus.rule_files ?? []) {
      const inContainer = path.posix.resolve(configDir, file);
      expect({ file, underRulesMount: inContainer.startsWith(`${rulesTarget}/`) }).toEqual({ file, underRulesMount: true });
    }
    expect(prometheus.rule_files?.length).toBeGreaterThan(0);
    // Every collector, found in DNS (in Kubernetes a headless Service over both tiers): here the
    // name is the collector's network alias, and the port its own-metrics port.
    const job = prometheus.scrape_configs?.find((config) => config.job_name === COLLECTOR_JOB);
    const readers = nested(collectorConfig.service, 'telemetry', 'metrics', 'readers') as unknown[];
    const metricsPort = nested(readers[0], 'pull', 'exporter', 'prometheus', 'port');
    expect(job?.static_configs).toBeUndefined();
    expect(job?.dns_sd_configs?.length).toBe(1);
    const [discovery] = job?.dns_sd_configs ?? [];
    expect({ type: discovery?.type, port: discovery?.port }).toEqual({ type: 'A', port: metricsPort });
    expect(discovery?.names.length).toBeGreaterThan(0);
    for (const name of discovery?.names ?? []) expect({ name, aliasOfTheCollector: aliases('otel-collector').includes(name) }).toEqual({ name, aliasOfTheCollector: true });
  });
});

describe('grafana service', () => {
  test('mounts provisioning and dashboards where Grafana and the dashboard provider read them', () => {
    expect(mountOf('grafana', './grafana/provisioning')?.target).toBe('/etc/grafana/provisioning');
    const providerDir = path.join(ROOT, 'grafana/provisioning/dashboards');
    const paths = readdirSync(providerDir)
      .filter((file) => /\.ya?ml$/.test(file))
      .flatMap((file) => (parse(readFileSync(path.join(providerDir, file), 'utf8')) as { providers?: Array<{ options?: { path?: string } }> }).providers ?? [])
      .map((provider) => provider.options?.path);
    expect(paths.length).toBeGreaterThan(0);
    for (const providerPath of paths) expect(mountOf('grafana', './grafana/dashboards')?.target).toBe(providerPath);
  });

  test('the provisioned datasource points at the prometheus service', () => {
    const dir = path.join(ROOT, 'grafana/provisioning/datasources');
    const urls = readdirSync(dir)
      .filter((file) => /\.ya?ml$/.test(file))
      .flatMap((file) => (parse(readFileSync(path.join(dir, file), 'utf8')) as { datasources?: Array<{ type: string; url: string }> }).datasources ?? [])
      .filter((datasource) => datasource.type === 'prometheus')
      .map((datasource) => datasource.url);
    expect(urls).toEqual([`http://prometheus:${publishedPorts('prometheus')[0]}`]);
  });

  test('anonymous viewers, an admin password from the environment, port 3000', () => {
    expect(env('grafana')).toMatchObject({ GF_AUTH_ANONYMOUS_ENABLED: 'true', GF_AUTH_ANONYMOUS_ORG_ROLE: 'Viewer' });
    expect(env('grafana').GF_SECURITY_ADMIN_PASSWORD).toMatch(/^\$\{GRAFANA_ADMIN_PASSWORD(:-[^}]+)?\}$/);
    expect(publishedPorts('grafana')).toContain(3000);
  });
});

describe('sidecar service', () => {
  test('is configured only through variables of real `run` flags', () => {
    expect(Object.keys(env('sidecar')).filter((name) => !SIDECAR_ENV_NAMES.has(name))).toEqual([]);
  });

  test('the environment resolves to the intended configuration', () => {
    const config = sidecarConfig();
    expect(config.listen).toEqual({ host: '0.0.0.0', port: 8787 });
    expect(config.telemetry.metricsUrl).toBe('http://otel-collector:4318/v1/metrics');
    expect(config.telemetry.exportIntervalMs).toBe(10_000);
    expect(config.telemetry.resourceAttributes).toMatchObject({ 'k8s.namespace.name': 'demo', 'k8s.workload.name': 'demo-app', 'k8s.pod.name': 'demo-app-1' });
    expect(config.headerAttributes).toEqual([{ header: 'x-tenant-id', attribute: 'tenant' }]);
    const fakeListenPort = Number(env('fake-provider').FAKE_PROVIDER_LISTEN?.split(':').pop());
    expect(config.routes.map((route) => [route.name, route.provider.providerName, route.target.origin])).toEqual([
      ['openai', 'openai', `http://fake-provider:${fakeListenPort}`],
      ['anthropic', 'anthropic', `http://fake-provider:${fakeListenPort}`],
    ]);
  });

  test('exports to the collector service on the port its otlp receiver listens on', () => {
    const url = new URL(sidecarConfig().telemetry.metricsUrl);
    expect(url.hostname).toBe('otel-collector');
    expect(Number(url.port)).toBe(portOf(nested(collectorConfig.receivers, 'otlp', 'protocols', 'http', 'endpoint') as string));
  });

  test('every mapped header attribute is on the collector allow-list', () => {
    const statements = JSON.stringify(nested(collectorConfig.processors, 'transform/allowlist'));
    for (const { attribute } of sidecarConfig().headerAttributes) expect(statements).toContain(`\\"${attribute}\\"`);
  });

  test('the health check asks the admin listener, and traffic waits for it', () => {
    const adminPort = sidecarConfig().adminListen.port;
    expect(service('sidecar').healthcheck?.test.join(' ')).toContain(`127.0.0.1:${adminPort}/readyz`);
    expect(service('traffic').depends_on.sidecar?.condition).toBe('service_healthy');
    expect(publishedPorts('sidecar')).toContain(sidecarConfig().listen.port);
  });

  test('demo/Dockerfile.sidecar: multi-stage node:20-slim, npm ci, tsc, dev deps pruned, non-root, runs `run`', () => {
    expect(service('sidecar').build?.dockerfile).toBe('demo/Dockerfile.sidecar');
    const steps = dockerfile('demo/Dockerfile.sidecar');
    const from = steps.filter((s) => s.instruction === 'FROM').map((s) => s.args.split(/\s+/)[0]);
    expect(from).toEqual(['node:20-slim', 'node:20-slim']);
    const runs = steps.filter((s) => s.instruction === 'RUN').map((s) => s.args).join(' && ');
    expect(runs).toMatch(/npm ci\b/);
    expect(runs).toMatch(/tsc -p tsconfig\.json/);
    expect(runs).toMatch(/npm prune --omit=dev/);
    const lastStage = steps.slice(steps.map((s) => s.instruction).lastIndexOf('FROM'));
    expect(lastStage.find((s) => s.instruction === 'USER')?.args).toMatch(/^(node|[1-9]\d*)/);
    expect(lastStage.some((s) => s.instruction === 'RUN' && /npm (ci|install)/.test(s.args))).toBe(false);
    expect(JSON.parse(steps.filter((s) => s.instruction === 'CMD').pop()?.args ?? 'null')).toEqual(['node', ...RUNTIME_NODE_FLAGS, 'dist/src/cli/main.js', 'run']);
    expect(existsSync(path.join(ROOT, 'src/cli/main.ts'))).toBe(true);
  });
});

describe('demo services', () => {
  test('fake-provider and traffic run compiled demo/*.ts from demo/Dockerfile.demo', () => {
    for (const name of ['fake-provider', 'traffic']) {
      expect(service(name).build?.dockerfile).toBe('demo/Dockerfile.demo');
      const [node, script = ''] = command(name);
      expect(node).toBe('node');
      expect(script).toMatch(/^dist\/demo\/\w+\.js$/);
      expect(existsSync(path.join(ROOT, 'demo', `${path.basename(script, '.js')}.ts`))).toBe(true);
    }
    const runs = dockerfile('demo/Dockerfile.demo').filter((s) => s.instruction === 'RUN').map((s) => s.args);
    expect(runs).toContain('npx tsc -p demo/tsconfig.json');
  });

  test('traffic goes to the sidecar service on its listen port', () => {
    const url = new URL(env('traffic').TRAFFIC_SIDECAR_URL ?? '');
    expect(url.hostname).toBe('sidecar');
    expect(Number(url.port)).toBe(sidecarConfig().listen.port);
  });

  test('demo/*.ts type-check under demo/tsconfig.json and compile to dist/demo', () => {
    const configFile = path.join(ROOT, 'demo/tsconfig.json');
    const raw = ts.readConfigFile(configFile, (file) => ts.sys.readFile(file));
    expect(raw.error).toBeUndefined();
    const parsed = ts.parseJsonConfigFileContent(raw.config, ts.sys, path.dirname(configFile));
    expect(parsed.errors).toEqual([]);
    expect(parsed.options.outDir).toBe(path.join(ROOT, 'dist/demo'));
    const program = ts.createProgram(parsed.fileNames, { ...parsed.options, noEmit: true });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(diagnostics).toEqual([]);
    expect(parsed.fileNames.map((file) => path.basename(file)).sort()).toEqual(['fakeProvider.ts', 'random.ts', 'traffic.ts']);
  });

  test('the fake OpenAI stream sends the usage chunk only when asked, as the real API does', () => {
    const ctx = createContext({ random: seededRandom(1), rateLimitedShare: 0, serverErrorShare: 0, latencyScale: 0 });
    const asked = openAiChat(ctx, { model: 'gpt-4o', stream: true, stream_options: { include_usage: true }, messages: [] });
    const notAsked = openAiChat(ctx, { model: 'gpt-4o', stream: true, messages: [] });
    expect((asked.body as string[]).some((event) => event.includes('"choices":[]') && event.includes('"prompt_tokens"'))).toBe(true);
    expect((notAsked.body as string[]).some((event) => event.includes('usage'))).toBe(false);
    expect(asked.headers['x-ratelimit-remaining-requests']).toBeDefined();
  });

  test('the fake Anthropic usage excludes cached input, as the real API does', () => {
    const ctx = createContext({ random: seededRandom(7), rateLimitedShare: 0, serverErrorShare: 0, latencyScale: 0 });
    for (let i = 0; i < 10; i += 1) {
      const reply = anthropicMessages(ctx, { model: 'claude-sonnet-4-20250514', messages: [{ role: 'user', content: 'hello' }] });
      const usage = (JSON.parse(reply.body as string) as { usage: Record<string, number> }).usage;
      expect(Object.values(usage).every((n) => Number.isInteger(n) && n >= 0)).toBe(true);
      expect(reply.headers['anthropic-ratelimit-requests-remaining']).toBeDefined();
    }
  });

  describe('through the real sidecar', () => {
    let provider: RunningFakeProvider;
    let receiver: OtlpReceiver;
    let sidecar: RunningSidecar;
    let points: ReceivedPoint[];
    const REQUESTS = 60;

    beforeAll(async () => {
      provider = await startFakeProvider('127.0.0.1', 0, { random: seededRandom(42), latencyScale: 0, rateLimitedShare: 0.1, serverErrorShare: 0.05 });
      receiver = await startOtlpReceiver();
      // The compose environment, with addresses moved to this machine.
      const config = resolveRunConfig(
        {
          listen: '127.0.0.1:0',
          adminListen: '127.0.0.1:0',
          upstream: [`openai=${provider.url}`, `anthropic=${provider.url}`],
          otlpEndpoint: receiver.url,
          exportInterval: '3600000',
        },
        env('sidecar'),
        'test',
      );
      sidecar = await startSidecar(config, createLogger('error', 'json', { write: () => undefined }));
      const summary = await runTraffic({ sidecarUrl: sidecar.url, ratePerSecond: 500, maxInFlight: 8, maxRequests: REQUESTS, random: seededRandom(3), log: () => undefined });
      expect(summary.sent).toBe(REQUESTS);
      expect(summary.byStatus.error).toBeUndefined();
      await sidecar.telemetry.flush();
      points = receiver.latest();
    });

    afterAll(async () => {
      await sidecar?.stop();
      await provider?.close();
      await receiver?.close();
    });

    const of = (metric: string): ReceivedPoint[] => points.filter((p) => p.metric === metric);
    const values = (metric: string, key: string): Set<unknown> => new Set(of(metric).map((p) => p.attributes[key]));

    test('every call is measured, for both providers, every scenario operation and several tenants', () => {
      const calls = of(METRICS.operationDuration.name).reduce((sum, p) => sum + (p.count ?? 0), 0);
      expect(calls).toBe(REQUESTS);
      expect(values(METRICS.operationDuration.name, ATTR.providerName)).toEqual(new Set(['openai', 'anthropic']));
      expect(values(METRICS.operationDuration.name, ATTR.operationName)).toEqual(new Set(['chat', 'embeddings']));
      expect(values(METRICS.operationDuration.name, 'tenant').size).toBeGreaterThanOrEqual(3);
      expect(new Set(SCENARIOS.map((s) => s.route))).toEqual(new Set(['openai', 'anthropic']));
    });

    test('tokens, cache and reasoning detail, streams, rate limits and errors all show up', () => {
      expect(values(METRICS.tokenUsage.name, ATTR.tokenType)).toEqual(new Set(['input', 'output']));
      expect(values(METRICS.tokenDetail.name, ATTR.tokenDetailType)).toEqual(new Set(Object.values(TOKEN_DETAIL_TYPE)));
      expect(of(METRICS.timeToFirstChunk.name).length).toBeGreaterThan(0);
      expect(values(METRICS.rateLimitRemaining.name, ATTR.rateLimitResource)).toEqual(new Set(['requests', 'tokens']));
      const errors = values(METRICS.operationDuration.name, ATTR.errorType);
      expect(errors.has('rate_limit_exceeded') || errors.has('429')).toBe(true);
      expect(of(METRICS.cost.name).length).toBeGreaterThan(0);
    });
  });
});
