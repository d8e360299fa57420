/**
 * The `genai-sidecar` command line, run in-process: fake stdout/stderr, an explicit environment
 * and a fake `run` action that only captures the resolved SidecarConfig.
 *
 * Expectations are derived from the RUN_FLAGS table where that is the point (every flag shows
 * up in help, every env fallback works), and hard-coded where a table change alone must not be
 * able to make the test pass (the literal flag list, defaults, env names).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SidecarConfig } from '../../src/config/config';
import { RUN_FLAGS, type FlagDefinition } from '../../src/cli/runFlags';
import { runProgram, USAGE_ERROR_EXIT_CODE } from '../../src/cli/program';

const VERSION = '9.8.7-test';
const PRICES_FIXTURE = path.resolve(__dirname, '../fixtures/prices/prices.json');

interface Invocation {
  code: number;
  stdout: string;
  stderr: string;
  /** Every config the `run` action received (at most one). */
  configs: SidecarConfig[];
}

async function invoke(argv: readonly string[], env: Record<string, string> = {}): Promise<Invocation> {
  let stdout = '';
  let stderr = '';
  const configs: SidecarConfig[] = [];
  const code = await runProgram(
    {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      env,
      version: VERSION,
      actions: {
        run: async (config) => {
          configs.push(config);
        },
      },
    },
    argv,
  );
  return { code, stdout, stderr, configs };
}

/** `run` with these flags must succeed; returns the config the action got. */
async function resolve(args: readonly string[], env: Record<string, string> = {}): Promise<SidecarConfig> {
  const result = await invoke(['run', ...args], env);
  if (result.code !== 0 || result.configs.length !== 1) {
    throw new Error(`expected run ${args.join(' ')} to succeed, got exit ${result.code}, stderr: ${result.stderr}`);
  }
  expect(result.stderr).toBe('');
  expect(result.stdout).toBe('');
  return result.configs[0];
}

/** The config with routes as plain data (toEqual treats all URL objects as equal). */
function plain(config: SidecarConfig): unknown {
  return {
    ...config,
    routes: config.routes.map((route) => ({ ...route, target: route.target.href, provider: route.provider.key })),
  };
}

const longFlag = (flag: FlagDefinition): string => flag.flags.split(' ')[0];

/**
 * The option entries of a help text, keyed by long flag, each with its wrapped lines joined and
 * whitespace collapsed (so the test does not depend on the terminal width commander wraps to).
 */
function optionBlocks(help: string): Map<string, string> {
  const lines = help.split('\n');
  const start = lines.findIndex((line) => line.trim() === 'Options:');
  if (start < 0) throw new Error(`no "Options:" section in:\n${help}`);
  const entries: Array<{ key: string; lines: string[] }> = [];
  for (const line of lines.slice(start + 1)) {
    if (/^\S/.test(line)) break; // the next section
    if (/^ {2}-/.test(line)) {
      const key = /--[a-z][a-z-]*/.exec(line)?.[0] ?? line.trim();
      entries.push({ key, lines: [line] });
    } else if (line.trim() !== '') {
      entries[entries.length - 1]?.lines.push(line);
    }
  }
  return new Map(entries.map((entry) => [entry.key, entry.lines.join(' ').replace(/\s+/g, ' ').trim()]));
}

// ---------------------------------------------------------------------------------------------
describe('help and version', () => {
  /** Literal, so that removing a row from RUN_FLAGS (or renaming a flag) fails here. */
  const EXPECTED_FLAGS = [
    '--listen',
    '--admin-listen',
    '--upstream',
    '--metrics-exporter',
    '--semconv-opt-in',
    '--otlp-endpoint',
    '--otlp-protocol',
    '--otlp-header',
    '--export-interval',
    '--export-timeout',
    '--service-name',
    '--resource-attribute',
    '--header-attribute',
    '--max-attribute-values',
    '--max-body-bytes',
    '--max-buffered-bytes',
    '--request-timeout',
    '--max-connections',
    '--admin-max-connections',
    '--connect-timeout',
    '--first-byte-timeout',
    '--idle-timeout',
    '--prices',
    '--log-level',
    '--log-format',
    '--shutdown-grace',
  ];

  /** A few hard-coded help entries: flag, env names in order, default (undefined = none shown). */
  const LITERAL_ENTRIES: Array<[flag: string, env: string[], defaultText: string | undefined]> = [
    ['--listen', ['GENAI_SIDECAR_LISTEN'], '127.0.0.1:8787'],
    ['--admin-listen', ['GENAI_SIDECAR_ADMIN_LISTEN'], '127.0.0.1:8788'],
    ['--metrics-exporter', ['OTEL_METRICS_EXPORTER'], 'otlp,prometheus'],
    ['--semconv-opt-in', ['OTEL_SEMCONV_STABILITY_OPT_IN'], undefined],
    ['--otlp-endpoint', ['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'], 'http://localhost:4318'],
    ['--otlp-protocol', ['OTEL_EXPORTER_OTLP_METRICS_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'], 'http/protobuf'],
    ['--otlp-header', ['OTEL_EXPORTER_OTLP_METRICS_HEADERS', 'OTEL_EXPORTER_OTLP_HEADERS'], undefined],
    ['--export-interval', ['OTEL_METRIC_EXPORT_INTERVAL'], '60000'],
    ['--export-timeout', ['OTEL_METRIC_EXPORT_TIMEOUT'], '30000'],
    ['--service-name', ['OTEL_SERVICE_NAME'], 'genai-sidecar'],
    ['--resource-attribute', ['OTEL_RESOURCE_ATTRIBUTES'], undefined],
    ['--header-attribute', ['GENAI_SIDECAR_HEADER_ATTRIBUTES'], undefined],
    ['--upstream', ['GENAI_SIDECAR_UPSTREAMS'], 'public endpoints of openai, anthropic, gemini, mistral, groq, deepseek, xai, cohere, openrouter'],
    ['--max-attribute-values', ['GENAI_SIDECAR_MAX_ATTRIBUTE_VALUES'], '100'],
    ['--max-body-bytes', ['GENAI_SIDECAR_MAX_BODY_BYTES'], '8388608'],
    ['--max-buffered-bytes', ['GENAI_SIDECAR_MAX_BUFFERED_BYTES'], '16777216'],
    ['--request-timeout', ['GENAI_SIDECAR_REQUEST_TIMEOUT'], '60000'],
    ['--max-connections', ['GENAI_SIDECAR_MAX_CONNECTIONS'], '512'],
    ['--admin-max-connections', ['GENAI_SIDECAR_ADMIN_MAX_CONNECTIONS'], '16'],
    ['--connect-timeout', ['GENAI_SIDECAR_CONNECT_TIMEOUT'], '10000'],
    ['--first-byte-timeout', ['GENAI_SIDECAR_FIRST_BYTE_TIMEOUT'], '600000'],
    ['--idle-timeout', ['GENAI_SIDECAR_IDLE_TIMEOUT'], '300000'],
    ['--prices', ['GENAI_SIDECAR_PRICES'], undefined],
    ['--log-level', ['GENAI_SIDECAR_LOG_LEVEL'], 'info'],
    ['--log-format', ['GENAI_SIDECAR_LOG_FORMAT'], 'json'],
    ['--shutdown-grace', ['GENAI_SIDECAR_SHUTDOWN_GRACE'], '20000'],
  ];

  let help: string;
  let blocks: Map<string, string>;

  beforeAll(async () => {
    const result = await invoke(['run', '--help']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.configs).toHaveLength(0);
    help = result.stdout;
    blocks = optionBlocks(help);
  });

  test('run --help starts with the usage line', () => {
    expect(help).toMatch(/^Usage: genai-sidecar run \[options\]/);
  });

  test('RUN_FLAGS and the help list exactly the expected flags', () => {
    expect(RUN_FLAGS.map(longFlag)).toEqual(EXPECTED_FLAGS);
    expect([...blocks.keys()].filter((key) => key !== '--help')).toEqual(EXPECTED_FLAGS);
  });

  test.each(RUN_FLAGS.map((flag) => [longFlag(flag), flag] as const))('%s: help shows its syntax, env variables and default', (long, flag) => {
    const block = blocks.get(long);
    expect(block).toBeDefined();
    expect(block).toContain(flag.flags);
    expect(block).toContain(flag.description.replace(/\s+/g, ' '));
    if (flag.env.length > 0) expect(block).toContain(`[env: ${flag.env.join(', ')}]`);
    else expect(block).not.toContain('[env:');
    if (flag.defaultText !== undefined) expect(block).toContain(`(default: ${flag.defaultText.replace(/\s+/g, ' ')})`);
    else expect(block).not.toContain('(default:');
  });

  test.each(LITERAL_ENTRIES)('%s: literal help entry', (long, env, defaultText) => {
    const block = blocks.get(long) ?? '';
    expect(block).toContain(`[env: ${env.join(', ')}]`);
    if (defaultText !== undefined) expect(block).toContain(`(default: ${defaultText})`);
    else expect(block).not.toContain('(default:');
  });

  test('the --upstream default names every public route', () => {
    const block = blocks.get('--upstream') ?? '';
    expect(block).toContain(
      '(default: public endpoints of openai, anthropic, gemini, mistral, groq, deepseek, xai, cohere, openrouter)',
    );
    expect(block).toContain('--upstream <route[:provider]=url>');
  });

  test('the help mentions every env variable any flag reads', () => {
    const allEnv = RUN_FLAGS.flatMap((flag) => flag.env);
    expect(allEnv.length).toBeGreaterThanOrEqual(19);
    for (const name of allEnv) expect(help).toContain(name);
    // Literal spot checks, independent of the table.
    for (const literal of ['--listen', '127.0.0.1:8787', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', 'GENAI_SIDECAR_UPSTREAMS']) {
      expect(help).toContain(literal);
    }
  });

  test.each([[['run', '-h']], [['help', 'run']]])('%j gives the same help as run --help', async (argv) => {
    const result = await invoke(argv);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(help);
    expect(result.configs).toHaveLength(0);
  });

  test.each([[['--help']], [['-h']], [['help']]])('top-level %j lists the run command and --version', async (argv) => {
    const result = await invoke(argv);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^Usage: genai-sidecar \[options\] \[command\]/);
    expect(result.stdout).toMatch(/^ {2}run \[options\] +Run the proxy/m);
    expect(result.stdout).toContain('--version');
    expect(result.configs).toHaveLength(0);
  });

  test('--version prints the version alone', async () => {
    const result = await invoke(['--version']);
    expect(result).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '', configs: [] });
  });

  test('no command at all prints the help on stderr and is a usage error', async () => {
    const result = await invoke([]);
    expect(result.code).toBe(USAGE_ERROR_EXIT_CODE);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^Usage: genai-sidecar/);
    expect(result.configs).toHaveLength(0);
  });
});

// ---------------------------------------------------------------------------------------------
describe('defaults with an empty environment', () => {
  let config: SidecarConfig;
  beforeAll(async () => {
    config = await resolve([]);
  });

  test('listeners', () => {
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 8787 });
    expect(config.adminListen).toEqual({ host: '127.0.0.1', port: 8788 });
  });

  test('the public provider routes', () => {
    const routes = config.routes.map((route) => ({
      name: route.name,
      url: route.target.href,
      provider: route.provider.providerName,
      server: `${route.serverAddress}:${route.serverPort}`,
    }));
    expect(routes).toEqual([
      { name: 'openai', url: 'https://api.openai.com/', provider: 'openai', server: 'api.openai.com:443' },
      { name: 'anthropic', url: 'https://api.anthropic.com/', provider: 'anthropic', server: 'api.anthropic.com:443' },
      { name: 'gemini', url: 'https://generativelanguage.googleapis.com/', provider: 'gcp.gemini', server: 'generativelanguage.googleapis.com:443' },
      { name: 'mistral', url: 'https://api.mistral.ai/', provider: 'mistral_ai', server: 'api.mistral.ai:443' },
      { name: 'groq', url: 'https://api.groq.com/', provider: 'groq', server: 'api.groq.com:443' },
      { name: 'deepseek', url: 'https://api.deepseek.com/', provider: 'deepseek', server: 'api.deepseek.com:443' },
      { name: 'xai', url: 'https://api.x.ai/', provider: 'x_ai', server: 'api.x.ai:443' },
      { name: 'cohere', url: 'https://api.cohere.com/', provider: 'cohere', server: 'api.cohere.com:443' },
      { name: 'openrouter', url: 'https://openrouter.ai/', provider: 'openrouter', server: 'openrouter.ai:443' },
    ]);
  });

  test('telemetry', () => {
    expect(config.telemetry).toEqual({
      metricsUrl: 'http://localhost:4318/v1/metrics',
      protocol: 'http/protobuf',
      headers: {},
      exportIntervalMs: 60000,
      exportTimeoutMs: 30000,
      serviceName: 'genai-sidecar',
      resourceAttributes: {},
      version: VERSION,
      exporters: { otlp: true, prometheus: true },
    });
  });

  test('everything else', () => {
    expect(config.headerAttributes).toEqual([]);
    expect(config.maxAttributeValues).toBe(100);
    expect(config.semconv).toBe('v1_41');
    expect(config.maxBodyBytes).toBe(8 * 1024 * 1024);
    expect(config.pricesFile).toBeUndefined();
    expect(config.priceOverrides).toEqual([]);
    expect(config.logLevel).toBe('info');
    expect(config.logFormat).toBe('json');
    expect(config.shutdownGraceMs).toBe(20000);
  });

  /** The default the help promises is the default the config gets. */
  const EFFECTIVE_DEFAULT: Record<string, (config: SidecarConfig) => string> = {
    listen: (c) => `${c.listen.host}:${c.listen.port}`,
    adminListen: (c) => `${c.adminListen.host}:${c.adminListen.port}`,
    upstream: (c) => `public endpoints of ${c.routes.map((route) => route.name).join(', ')}`,
    otlpEndpoint: (c) => c.telemetry.metricsUrl.replace(/\/v1\/metrics$/, ''),
    otlpProtocol: (c) => c.telemetry.protocol,
    metricsExporter: (c) => [c.telemetry.exporters.otlp ? 'otlp' : '', c.telemetry.exporters.prometheus ? 'prometheus' : ''].filter(Boolean).join(','),
    exportInterval: (c) => String(c.telemetry.exportIntervalMs),
    exportTimeout: (c) => String(c.telemetry.exportTimeoutMs),
    serviceName: (c) => c.telemetry.serviceName,
    maxAttributeValues: (c) => String(c.maxAttributeValues),
    maxBodyBytes: (c) => String(c.maxBodyBytes),
    maxBufferedBytes: (c) => String(c.maxBufferedBytes),
    requestTimeout: (c) => String(c.requestTimeoutMs),
    maxConnections: (c) => String(c.maxConnections),
    adminMaxConnections: (c) => String(c.adminMaxConnections),
    logLevel: (c) => c.logLevel,
    logFormat: (c) => c.logFormat,
    shutdownGrace: (c) => String(c.shutdownGraceMs),
    connectTimeout: (c) => String(c.upstreamTimeouts.connectMs),
    firstByteTimeout: (c) => String(c.upstreamTimeouts.firstByteMs),
    idleTimeout: (c) => String(c.upstreamTimeouts.idleMs),
  };

  test.each(RUN_FLAGS.filter((flag) => flag.defaultText !== undefined).map((flag) => [longFlag(flag), flag] as const))(
    '%s: the help default is the effective default',
    (_long, flag) => {
      const effective = EFFECTIVE_DEFAULT[flag.key];
      expect(effective).toBeDefined();
      expect(effective(config)).toBe(flag.defaultText);
    },
  );

  test('empty or blank env variables count as unset', async () => {
    const blank = Object.fromEntries(RUN_FLAGS.flatMap((flag) => flag.env).map((name) => [name, ' ']));
    expect(Object.keys(blank).length).toBeGreaterThanOrEqual(19);
    // jest's toEqual sees every URL as equal (no own properties), so compare routes as strings.
    expect(plain(await resolve([], blank))).toEqual(plain(config));
  });
});

// ---------------------------------------------------------------------------------------------
describe('environment fallbacks, and flags beating them', () => {
  interface FallbackCase {
    key: string;
    /** Env variable to set (one case per variable of the flag). */
    env: string;
    envValue: string;
    flagArgs: string[];
    pick: (config: SidecarConfig) => unknown;
    fromEnv: unknown;
    fromFlag: unknown;
  }

  const routesOf = (c: SidecarConfig) => c.routes.map((route) => [route.name, route.target.href, route.provider.providerName]);
  const C = (key: string, envs: string[], envValue: string, flagArgs: string[], pick: FallbackCase['pick'], fromEnv: unknown, fromFlag: unknown): FallbackCase[] =>
    envs.map((env) => ({ key, env, envValue, flagArgs, pick, fromEnv, fromFlag }));

  const CASES: FallbackCase[] = [
    ...C('listen', ['GENAI_SIDECAR_LISTEN'], '0.0.0.0:9000', ['--listen', '127.0.0.1:1234'], (c) => c.listen, { host: '0.0.0.0', port: 9000 }, { host: '127.0.0.1', port: 1234 }),
    ...C('adminListen', ['GENAI_SIDECAR_ADMIN_LISTEN'], '[::1]:9001', ['--admin-listen', 'localhost:1235'], (c) => c.adminListen, { host: '::1', port: 9001 }, { host: 'localhost', port: 1235 }),
    ...C(
      'upstream',
      ['GENAI_SIDECAR_UPSTREAMS'],
      ' openai=http://127.0.0.1:1 , local:vllm=http://127.0.0.1:2/v1,',
      ['--upstream', 'anthropic=http://127.0.0.1:3'],
      routesOf,
      [
        ['openai', 'http://127.0.0.1:1/', 'openai'],
        ['local', 'http://127.0.0.1:2/v1', 'vllm'],
      ],
      [['anthropic', 'http://127.0.0.1:3/', 'anthropic']],
    ),
    ...C('otlpEndpoint', ['OTEL_EXPORTER_OTLP_ENDPOINT'], 'http://collector:4318/', ['--otlp-endpoint', 'http://127.0.0.1:4000'], (c) => c.telemetry.metricsUrl, 'http://collector:4318/v1/metrics', 'http://127.0.0.1:4000/v1/metrics'),
    // The signal-specific variable is a complete URL, used as-is (no /v1/metrics appended).
    ...C('otlpEndpoint', ['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'], 'http://collector:4318/custom/path', ['--otlp-endpoint', 'http://127.0.0.1:4000/v1/metrics'], (c) => c.telemetry.metricsUrl, 'http://collector:4318/custom/path', 'http://127.0.0.1:4000/v1/metrics'),
    ...C('otlpProtocol', ['OTEL_EXPORTER_OTLP_METRICS_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'], 'http/json', ['--otlp-protocol', 'http/protobuf'], (c) => c.telemetry.protocol, 'http/json', 'http/protobuf'),
    // The variable is shared with other instrumentations: values for them are ignored.
    ...C('semconvOptIn', ['OTEL_SEMCONV_STABILITY_OPT_IN'], 'http, gen_ai_latest_experimental', ['--semconv-opt-in', 'database'], (c) => c.semconv, 'latest', 'v1_41'),
    ...C('metricsExporter', ['OTEL_METRICS_EXPORTER'], ' Prometheus ', ['--metrics-exporter', 'otlp'], (c) => c.telemetry.exporters, { otlp: false, prometheus: true }, { otlp: true, prometheus: false }),
    ...C('metricsExporter', ['OTEL_METRICS_EXPORTER'], 'none', ['--metrics-exporter', 'prometheus,otlp'], (c) => c.telemetry.exporters, { otlp: false, prometheus: false }, { otlp: true, prometheus: true }),
    ...C(
      'otlpHeader',
      ['OTEL_EXPORTER_OTLP_METRICS_HEADERS', 'OTEL_EXPORTER_OTLP_HEADERS'],
      'api-key=secret%20value, x-team = ml%2Cops ,x-eq=a=b',
      ['--otlp-header', 'authorization=Bearer t', '--otlp-header', 'x-two=2'],
      (c) => c.telemetry.headers,
      { 'api-key': 'secret value', 'x-team': 'ml,ops', 'x-eq': 'a=b' },
      { authorization: 'Bearer t', 'x-two': '2' },
    ),
    ...C('exportInterval', ['OTEL_METRIC_EXPORT_INTERVAL'], '5000', ['--export-interval', '250'], (c) => c.telemetry.exportIntervalMs, 5000, 250),
    ...C('exportTimeout', ['OTEL_METRIC_EXPORT_TIMEOUT'], '7000', ['--export-timeout', '900'], (c) => c.telemetry.exportTimeoutMs, 7000, 900),
    ...C('serviceName', ['OTEL_SERVICE_NAME'], ' checkout ', ['--service-name', 'billing'], (c) => c.telemetry.serviceName, 'checkout', 'billing'),
    ...C(
      'resourceAttribute',
      ['OTEL_RESOURCE_ATTRIBUTES'],
      'k8s.pod.name=pod-1,deployment.environment=prod%2Ceu,team=a%3Db',
      ['--resource-attribute', 'k8s.namespace.name=ml'],
      (c) => c.telemetry.resourceAttributes,
      { 'k8s.pod.name': 'pod-1', 'deployment.environment': 'prod,eu', team: 'a=b' },
      { 'k8s.namespace.name': 'ml' },
    ),
    ...C(
      'headerAttribute',
      ['GENAI_SIDECAR_HEADER_ATTRIBUTES'],
      'X-Tenant-Id=tenant,x-team=team.name',
      ['--header-attribute', 'x-user=user'],
      (c) => c.headerAttributes,
      [
        { header: 'x-tenant-id', attribute: 'tenant' },
        { header: 'x-team', attribute: 'team.name' },
      ],
      [{ header: 'x-user', attribute: 'user' }],
    ),
    ...C('maxAttributeValues', ['GENAI_SIDECAR_MAX_ATTRIBUTE_VALUES'], '7', ['--max-attribute-values', '3'], (c) => c.maxAttributeValues, 7, 3),
    ...C('maxBodyBytes', ['GENAI_SIDECAR_MAX_BODY_BYTES'], '1024', ['--max-body-bytes', '2048'], (c) => c.maxBodyBytes, 1024, 2048),
    ...C('maxBufferedBytes', ['GENAI_SIDECAR_MAX_BUFFERED_BYTES'], '4096', ['--max-buffered-bytes', '8192'], (c) => c.maxBufferedBytes, 4096, 8192),
    ...C('requestTimeout', ['GENAI_SIDECAR_REQUEST_TIMEOUT'], '1500', ['--request-timeout', '10'], (c) => c.requestTimeoutMs, 1500, 10),
    ...C('maxConnections', ['GENAI_SIDECAR_MAX_CONNECTIONS'], '64', ['--max-connections', '8'], (c) => c.maxConnections, 64, 8),
    ...C('adminMaxConnections', ['GENAI_SIDECAR_ADMIN_MAX_CONNECTIONS'], '5', ['--admin-max-connections', '2'], (c) => c.adminMaxConnections, 5, 2),
    ...C('prices', ['GENAI_SIDECAR_PRICES'], PRICES_FIXTURE, ['--prices', PRICES_FIXTURE], (c) => [c.pricesFile, c.priceOverrides.map((o) => o.model)], [PRICES_FIXTURE, ['gpt-4o-mini', 'llama3', 'my-reasoner']], [PRICES_FIXTURE, ['gpt-4o-mini', 'llama3', 'my-reasoner']]),
    ...C('logLevel', ['GENAI_SIDECAR_LOG_LEVEL'], 'debug', ['--log-level', 'error'], (c) => c.logLevel, 'debug', 'error'),
    ...C('logFormat', ['GENAI_SIDECAR_LOG_FORMAT'], 'text', ['--log-format', 'json'], (c) => c.logFormat, 'text', 'json'),
    ...C('shutdownGrace', ['GENAI_SIDECAR_SHUTDOWN_GRACE'], '1500', ['--shutdown-grace', '10'], (c) => c.shutdownGraceMs, 1500, 10),
    ...C('connectTimeout', ['GENAI_SIDECAR_CONNECT_TIMEOUT'], '1500', ['--connect-timeout', '10'], (c) => c.upstreamTimeouts.connectMs, 1500, 10),
    ...C('firstByteTimeout', ['GENAI_SIDECAR_FIRST_BYTE_TIMEOUT'], '1500', ['--first-byte-timeout', '10'], (c) => c.upstreamTimeouts.firstByteMs, 1500, 10),
    ...C('idleTimeout', ['GENAI_SIDECAR_IDLE_TIMEOUT'], '1500', ['--idle-timeout', '10'], (c) => c.upstreamTimeouts.idleMs, 1500, 10),
  ];

  test('every env variable of every flag has a case', () => {
    const covered = new Set(CASES.map((c) => `${c.key}:${c.env}`));
    const expected = RUN_FLAGS.flatMap((flag) => flag.env.map((env) => `${flag.key}:${env}`));
    expect([...covered].sort()).toEqual([...expected].sort());
  });

  test.each(CASES.map((c) => [c.env, c] as const))('%s is the fallback', async (_env, c) => {
    const config = await resolve([], { [c.env]: c.envValue });
    expect(c.pick(config)).toEqual(c.fromEnv);
  });

  test.each(CASES.map((c) => [c.flagArgs[0], c.env, c] as const))('%s beats %s', async (_flag, _env, c) => {
    const config = await resolve(c.flagArgs, { [c.env]: c.envValue });
    expect(c.pick(config)).toEqual(c.fromFlag);
  });

  test('OTEL_EXPORTER_OTLP_METRICS_ENDPOINT wins over OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
    const config = await resolve([], {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://generic:4318',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'https://metrics.example:4318/otlp/metrics',
    });
    expect(config.telemetry.metricsUrl).toBe('https://metrics.example:4318/otlp/metrics');
  });

  test.each([
    ['http://collector:4318', 'http://collector:4318/v1/metrics'],
    ['http://collector:4318/', 'http://collector:4318/v1/metrics'],
    ['http://collector:4318/otlp', 'http://collector:4318/otlp/v1/metrics'],
    ['http://collector:4318/v1/metrics', 'http://collector:4318/v1/metrics'],
    ['https://collector.example/prefix/?tenant=a', 'https://collector.example/prefix/v1/metrics?tenant=a'],
  ])('OTEL_EXPORTER_OTLP_ENDPOINT=%s exports to %s', async (base, full) => {
    expect((await resolve([], { OTEL_EXPORTER_OTLP_ENDPOINT: base })).telemetry.metricsUrl).toBe(full);
    expect((await resolve(['--otlp-endpoint', base])).telemetry.metricsUrl).toBe(full);
  });

  test.each([
    ['OTEL_EXPORTER_OTLP_METRICS_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL', 'http/json', 'http/protobuf'],
    ['OTEL_EXPORTER_OTLP_METRICS_HEADERS', 'OTEL_EXPORTER_OTLP_HEADERS', 'a=specific', 'b=generic'],
  ])('%s wins over %s (no merging)', async (specific, generic, specificValue, genericValue) => {
    const config = await resolve([], { [specific]: specificValue, [generic]: genericValue });
    if (specific.endsWith('PROTOCOL')) expect(config.telemetry.protocol).toBe(specificValue);
    else expect(config.telemetry.headers).toEqual({ a: 'specific' });
  });

  test('a repeatable flag replaces its env list entirely', async () => {
    const config = await resolve(['--resource-attribute', 'a=1'], { OTEL_RESOURCE_ATTRIBUTES: 'b=2,c=3' });
    expect(config.telemetry.resourceAttributes).toEqual({ a: '1' });
  });

  test('a repeated single-value flag keeps the last value', async () => {
    const config = await resolve(['--listen', '127.0.0.1:1', '--listen', '127.0.0.1:2']);
    expect(config.listen.port).toBe(2);
  });
});

// ---------------------------------------------------------------------------------------------
describe('--upstream syntax', () => {
  const one = async (spec: string) => {
    const config = await resolve(['--upstream', spec]);
    expect(config.routes).toHaveLength(1);
    const [route] = config.routes;
    return {
      name: route.name,
      href: route.target.href,
      provider: route.provider.providerName,
      key: route.provider.key,
      address: route.serverAddress,
      port: route.serverPort,
    };
  };

  test.each([
    ['openai=http://127.0.0.1:9000', { name: 'openai', href: 'http://127.0.0.1:9000/', provider: 'openai', key: 'openai', address: '127.0.0.1', port: 9000 }],
    ['anthropic=https://llm-gw.internal', { name: 'anthropic', href: 'https://llm-gw.internal/', provider: 'anthropic', key: 'anthropic', address: 'llm-gw.internal', port: 443 }],
    ['gemini=http://gw', { name: 'gemini', href: 'http://gw/', provider: 'gcp.gemini', key: 'gemini', address: 'gw', port: 80 }],
    ['mistral=http://gw:81', { name: 'mistral', href: 'http://gw:81/', provider: 'mistral_ai', key: 'mistral', address: 'gw', port: 81 }],
    ['xai=http://gw:82', { name: 'xai', href: 'http://gw:82/', provider: 'x_ai', key: 'xai', address: 'gw', port: 82 }],
    // Known providers without a public default endpoint are still inferred from the route name.
    ['ollama=http://127.0.0.1:11434', { name: 'ollama', href: 'http://127.0.0.1:11434/', provider: 'ollama', key: 'ollama', address: '127.0.0.1', port: 11434 }],
    ['azure=https://my.openai.azure.com/openai', { name: 'azure', href: 'https://my.openai.azure.com/openai', provider: 'azure.ai.openai', key: 'azure', address: 'my.openai.azure.com', port: 443 }],
    ['vllm-prod:vllm=http://10.0.0.5:8000', { name: 'vllm-prod', href: 'http://10.0.0.5:8000/', provider: 'vllm', key: 'vllm', address: '10.0.0.5', port: 8000 }],
    ['corp_llm:openai-compatible=http://gw/v1', { name: 'corp_llm', href: 'http://gw/v1', provider: 'openai', key: 'openai-compatible', address: 'gw', port: 80 }],
    // A route may be named after one provider and speak another's dialect.
    ['openai:azure=https://x.openai.azure.com', { name: 'openai', href: 'https://x.openai.azure.com/', provider: 'azure.ai.openai', key: 'azure', address: 'x.openai.azure.com', port: 443 }],
    ['openai=http://[::1]:8080', { name: 'openai', href: 'http://[::1]:8080/', provider: 'openai', key: 'openai', address: '::1', port: 8080 }],
  ])('%s', async (spec, expected) => {
    expect(await one(spec)).toEqual(expected);
  });

  test('several routes keep their order; the URL may contain "="-free paths', async () => {
    const config = await resolve(['--upstream', 'openai=http://a', '--upstream', 'local:ollama=http://b:11434', '--upstream', 'anthropic=http://c']);
    expect(config.routes.map((route) => route.name)).toEqual(['openai', 'local', 'anthropic']);
  });
});

// ---------------------------------------------------------------------------------------------
describe('bad flags and values: exit 2, one stderr line naming the culprit, run never called', () => {
  // Created while the table is built (test.each needs the paths then); removed after the tests.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'genai-sidecar-cli-'));
  const badJson = path.join(tmp, 'bad.json');
  fs.writeFileSync(badJson, '{"models": [ { "model": "x", ');
  const unknownKeyJson = path.join(tmp, 'typo.json');
  fs.writeFileSync(unknownKeyJson, JSON.stringify({ models: [{ model: 'x', input_per_mtoks: 1, output_per_mtok: 2 }] }));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  // [description, argv (after `run`, unless it starts with '!'), env, texts the one line must contain]
  type BadCase = [string, () => string[], Record<string, string>, string[]];
  const BAD: BadCase[] = [
    ['unknown option', () => ['--bogus'], {}, ['--bogus']],
    ['unknown option with a suggestion stays on one line', () => ['--listn', '127.0.0.1:1'], {}, ['--listn', '--listen']],
    ['unknown top-level option', () => ['!', '--bogus'], {}, ['--bogus']],
    ['unknown command', () => ['!', 'rn'], {}, ["'rn'", 'run']],
    ['stray argument', () => ['extra'], {}, ["'run'"]],
    ['missing argument', () => ['--listen'], {}, ['--listen']],
    ['missing argument at the end after others', () => ['--log-level', 'debug', '--upstream'], {}, ['--upstream']],
    ['listen without a port', () => ['--listen', 'localhost'], {}, ['--listen', 'localhost']],
    ['listen with a bad port', () => ['--listen', '127.0.0.1:http'], {}, ['--listen']],
    ['listen port 70000', () => ['--listen', '127.0.0.1:70000'], {}, ['--listen', '70000']],
    ['admin port 70000', () => ['--admin-listen', '127.0.0.1:70000'], {}, ['--admin-listen', '70000']],
    ['listen from env', () => [], { GENAI_SIDECAR_LISTEN: 'nope' }, ['GENAI_SIDECAR_LISTEN', 'nope']],
    ['admin listen from env', () => [], { GENAI_SIDECAR_ADMIN_LISTEN: '1.2.3.4:99999' }, ['GENAI_SIDECAR_ADMIN_LISTEN']],
    ['grpc protocol', () => ['--otlp-protocol', 'grpc'], {}, ['--otlp-protocol', 'grpc']],
    ['grpc protocol from env', () => [], { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, ['OTEL_EXPORTER_OTLP_PROTOCOL', 'grpc']],
    ['grpc protocol from the metrics env', () => [], { OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'grpc' }, ['OTEL_EXPORTER_OTLP_METRICS_PROTOCOL']],
    ['an exporter we do not have', () => ['--metrics-exporter', 'console'], {}, ['--metrics-exporter', 'console']],
    ['none with another exporter', () => [], { OTEL_METRICS_EXPORTER: 'none,otlp' }, ['OTEL_METRICS_EXPORTER', 'none']],
    ['relative OTLP endpoint', () => ['--otlp-endpoint', 'collector:4318'], {}, ['--otlp-endpoint']],
    ['non-URL OTLP endpoint', () => ['--otlp-endpoint', 'not a url'], {}, ['--otlp-endpoint']],
    ['grpc OTLP endpoint', () => ['--otlp-endpoint', 'grpc://collector:4317'], {}, ['--otlp-endpoint']],
    ['bad OTLP endpoint from env', () => [], { OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://x' }, ['OTEL_EXPORTER_OTLP_ENDPOINT']],
    ['bad OTLP metrics endpoint from env', () => [], { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: '::' }, ['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT']],
    ['non-numeric interval', () => ['--export-interval', 'soon'], {}, ['--export-interval', 'soon']],
    ['zero interval', () => ['--export-interval', '0'], {}, ['--export-interval']],
    ['negative interval', () => ['--export-interval', '-5'], {}, ['--export-interval']],
    ['fractional interval', () => ['--export-interval', '1.5'], {}, ['--export-interval']],
    ['interval with a unit', () => ['--export-interval', '10s'], {}, ['--export-interval']],
    ['huge interval', () => ['--export-interval', '99999999999999999999'], {}, ['--export-interval']],
    ['non-numeric interval from env', () => [], { OTEL_METRIC_EXPORT_INTERVAL: 'abc' }, ['OTEL_METRIC_EXPORT_INTERVAL']],
    ['zero timeout', () => ['--export-timeout', '0'], {}, ['--export-timeout']],
    ['zero timeout from env', () => [], { OTEL_METRIC_EXPORT_TIMEOUT: '0' }, ['OTEL_METRIC_EXPORT_TIMEOUT']],
    ['zero max attribute values', () => ['--max-attribute-values', '0'], {}, ['--max-attribute-values']],
    ['max attribute values from env', () => [], { GENAI_SIDECAR_MAX_ATTRIBUTE_VALUES: 'many' }, ['GENAI_SIDECAR_MAX_ATTRIBUTE_VALUES']],
    ['max body bytes in exponent form', () => ['--max-body-bytes', '1e6'], {}, ['--max-body-bytes']],
    ['max body bytes from env', () => [], { GENAI_SIDECAR_MAX_BODY_BYTES: '-1' }, ['GENAI_SIDECAR_MAX_BODY_BYTES']],
    ['bad shutdown grace', () => ['--shutdown-grace', 'forever'], {}, ['--shutdown-grace']],
    ['bad shutdown grace from env', () => [], { GENAI_SIDECAR_SHUTDOWN_GRACE: '0' }, ['GENAI_SIDECAR_SHUTDOWN_GRACE']],
    ['empty service name', () => ['--service-name', ''], {}, ['--service-name']],
    ['header attribute with an upper-case attribute', () => ['--header-attribute', 'x-tenant=Tenant'], {}, ['--header-attribute', 'Tenant']],
    ['header attribute without "="', () => ['--header-attribute', 'x-tenant'], {}, ['--header-attribute', 'x-tenant']],
    ['header attribute with a bad header name', () => ['--header-attribute', 'x tenant=tenant'], {}, ['--header-attribute']],
    ['header attribute with an empty attribute', () => ['--header-attribute', 'x-tenant='], {}, ['--header-attribute']],
    ['header attribute from env', () => [], { GENAI_SIDECAR_HEADER_ATTRIBUTES: 'x-a=ok,x-b=Not-Ok' }, ['GENAI_SIDECAR_HEADER_ATTRIBUTES']],
    ['OTLP header without a key', () => ['--otlp-header', '=value'], {}, ['--otlp-header']],
    // Export header entries are counted, not quoted: a malformed one may be a token (issue 6).
    ['OTLP header from env without "="', () => [], { OTEL_EXPORTER_OTLP_HEADERS: 'x-a=1,api-key' }, ['OTEL_EXPORTER_OTLP_HEADERS', 'entry 2']],
    ['OTLP header from env with a bad percent-encoding', () => [], { OTEL_EXPORTER_OTLP_HEADERS: 'api-key=100%' }, ['OTEL_EXPORTER_OTLP_HEADERS']],
    ['OTLP metrics headers from env', () => [], { OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'nokey' }, ['OTEL_EXPORTER_OTLP_METRICS_HEADERS']],
    ['resource attribute without "="', () => ['--resource-attribute', 'k8s.pod.name'], {}, ['--resource-attribute']],
    ['resource attributes from env with a bad percent-encoding', () => [], { OTEL_RESOURCE_ATTRIBUTES: 'a=%E0%A4%A' }, ['OTEL_RESOURCE_ATTRIBUTES']],
    ['bad log level', () => ['--log-level', 'loud'], {}, ['--log-level', 'loud']],
    ['log level is case-sensitive', () => ['--log-level', 'INFO'], {}, ['--log-level']],
    ['bad log level from env', () => [], { GENAI_SIDECAR_LOG_LEVEL: 'trace' }, ['GENAI_SIDECAR_LOG_LEVEL']],
    ['bad log format', () => ['--log-format', 'xml'], {}, ['--log-format', 'xml']],
    ['bad log format from env', () => [], { GENAI_SIDECAR_LOG_FORMAT: 'logfmt' }, ['GENAI_SIDECAR_LOG_FORMAT']],
    ['missing prices file', () => ['--prices', path.join(tmp, 'missing.json')], {}, ['--prices', 'missing.json', 'no such file']],
    ['prices path is a directory', () => ['--prices', tmp], {}, ['--prices', 'directory']],
    ['empty prices path', () => ['--prices', ''], {}, ['--prices']],
    ['malformed price JSON', () => ['--prices', badJson], {}, ['--prices', 'bad.json', 'invalid JSON']],
    ['price file with a typo', () => ['--prices', unknownKeyJson], {}, ['--prices', 'input_per_mtoks']],
    ['missing prices file from env', () => [], { GENAI_SIDECAR_PRICES: path.join(tmp, 'nope.json') }, ['GENAI_SIDECAR_PRICES', 'nope.json']],
    // --upstream
    ['unknown route without a provider names the fix', () => ['--upstream', 'foo=http://127.0.0.1:1'], {}, ['--upstream', 'foo:<provider>=', 'vllm']],
    ['unknown explicit provider', () => ['--upstream', 'foo:nope=http://127.0.0.1:1'], {}, ['--upstream', 'unknown provider "nope"']],
    ['empty explicit provider', () => ['--upstream', 'openai:=http://127.0.0.1:1'], {}, ['--upstream', 'unknown provider ""']],
    ['extra colon in the route part', () => ['--upstream', 'a:vllm:x=http://127.0.0.1:1'], {}, ['--upstream', 'unknown provider "vllm:x"']],
    ['no "=" at all', () => ['--upstream', 'openai'], {}, ['--upstream', '<route>=<url>']],
    ['empty route name', () => ['--upstream', '=http://127.0.0.1:1'], {}, ['--upstream']],
    ['bad route name', () => ['--upstream', 'Open AI=http://127.0.0.1:1'], {}, ['--upstream', 'route name']],
    ['duplicate route', () => ['--upstream', 'openai=http://a', '--upstream', 'openai=http://b'], {}, ['--upstream', 'openai', 'twice']],
    ['duplicate route through different providers', () => ['--upstream', 'x:vllm=http://a', '--upstream', 'x:ollama=http://b'], {}, ['--upstream', '"x"', 'twice']],
    ['non-http upstream', () => ['--upstream', 'openai=ftp://files.example'], {}, ['--upstream', 'http']],
    ['ws upstream', () => ['--upstream', 'openai=ws://127.0.0.1:1'], {}, ['--upstream']],
    ['relative upstream', () => ['--upstream', 'openai=/v1'], {}, ['--upstream', 'absolute URL']],
    ['upstream with a query', () => ['--upstream', 'openai=http://gw/v1?api-version=1'], {}, ['--upstream', 'query']],
    ['upstream with credentials', () => ['--upstream', 'openai=https://user:pass@gw'], {}, ['--upstream', 'credentials']],
    ['upstream with a fragment', () => ['--upstream', 'openai=https://gw/#x'], {}, ['--upstream', 'fragment']],
    ['bad upstream from env names the env variable', () => [], { GENAI_SIDECAR_UPSTREAMS: 'openai=http://a,foo=http://b' }, ['GENAI_SIDECAR_UPSTREAMS', 'foo:<provider>=']],
    ['duplicate upstream from env', () => [], { GENAI_SIDECAR_UPSTREAMS: 'openai=http://a,openai=http://b' }, ['GENAI_SIDECAR_UPSTREAMS', 'twice']],
  ];

  test.each(BAD)('%s', async (_description, argv, env, mentions) => {
    const args = argv();
    const full = args[0] === '!' ? args.slice(1) : ['run', ...args];
    const result = await invoke(full, env);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.configs).toEqual([]);
    // Exactly one line, ending in a newline, in the program's error format.
    expect(result.stderr).toMatch(/^genai-sidecar: error: [^\n]+\n$/);
    for (const text of mentions) expect(result.stderr).toContain(text);
  });

  test('USAGE_ERROR_EXIT_CODE is 2', () => {
    expect(USAGE_ERROR_EXIT_CODE).toBe(2);
  });

  test('the first bad value is reported, not a list', async () => {
    const result = await invoke(['run', '--listen', 'x', '--log-level', 'loud']);
    expect(result.stderr.split('\n')).toHaveLength(2);
  });

  test('a failing run action is not turned into a usage error', async () => {
    const failing = runProgram(
      {
        stdout: { write: () => true },
        stderr: { write: () => true },
        env: {},
        version: VERSION,
        actions: {
          run: () => Promise.reject(new Error('listen EADDRINUSE')),
        },
      },
      ['run'],
    );
    await expect(failing).rejects.toThrow('EADDRINUSE');
  });
});
