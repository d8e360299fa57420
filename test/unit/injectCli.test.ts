/**
 * `genai-sidecar inject` and `genai-sidecar webhook` on the command line, in-process: help,
 * input and output, env fallbacks, and bad input as one line with exit code 2.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { INJECTION_FLAGS, WEBHOOK_FLAGS, type CommandFlag } from '../../src/cli/injectCommands';
import { USAGE_ERROR_EXIT_CODE } from '../../src/cli/program';
import { DEFAULT_COLLECTOR_ENDPOINT } from '../../src/inject/options';
import { TEST_VERSION, runCli } from '../fixtures/inject/runCli';

const POD = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: app\n    image: app:1\n';
const WEBHOOK_TLS = ['--tls-cert', 'cert.pem', '--tls-key', 'key.pem'];

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genai-inject-cli-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Help text with commander's wrapping undone, so assertions do not depend on the terminal width. */
const flat = (help: string): string => help.replace(/\s+/g, ' ');

describe('help', () => {
  test.each([
    ['inject', INJECTION_FLAGS],
    ['webhook', [...WEBHOOK_FLAGS, ...INJECTION_FLAGS]],
  ] as const)('%s --help explains every flag with its env variable and default', async (command, flags: readonly CommandFlag[]) => {
    const run = await runCli([command, '--help']);
    expect(run.code).toBe(0);
    const help = flat(run.stdout);
    for (const flag of flags) {
      expect(help).toContain(flag.flags);
      for (const env of flag.env) expect(help).toContain(`[env: ${env}]`);
      if (flag.defaultText !== undefined) expect(help).toContain(`(default: ${flag.defaultText})`);
    }
  });

  test('the flags are the documented ones', () => {
    expect(INJECTION_FLAGS.map((flag) => [flag.flags, flag.env])).toEqual([
      ['--image <image>', ['GENAI_SIDECAR_INJECT_IMAGE']],
      ['--collector-endpoint <url>', ['GENAI_SIDECAR_INJECT_COLLECTOR_ENDPOINT']],
      ['--upstream <route[:provider]=url>', ['GENAI_SIDECAR_INJECT_UPSTREAMS']],
      ['--header-attribute <header=attribute>', ['GENAI_SIDECAR_INJECT_HEADER_ATTRIBUTES']],
      ['--metrics <mode>', ['GENAI_SIDECAR_INJECT_METRICS']],
      ['--legacy-sidecar', ['GENAI_SIDECAR_INJECT_LEGACY_SIDECAR']],
    ]);
    expect(WEBHOOK_FLAGS.map((flag) => [flag.flags, flag.env])).toEqual([
      ['--listen <host:port>', ['GENAI_SIDECAR_WEBHOOK_LISTEN']],
      ['--tls-cert <file>', ['GENAI_SIDECAR_WEBHOOK_TLS_CERT']],
      ['--tls-key <file>', ['GENAI_SIDECAR_WEBHOOK_TLS_KEY']],
    ]);
  });
});

describe('inject', () => {
  test('reads stdin with -f - and writes stdout', async () => {
    const run = await runCli(['inject', '-f', '-'], { stdin: POD });
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('initContainers:\n  - name: genai-sidecar\n');
  });

  test('-o writes the file and nothing to stdout', async () => {
    const input = path.join(dir, 'pod.yaml');
    const output = path.join(dir, 'out.yaml');
    fs.writeFileSync(input, POD);
    const run = await runCli(['inject', '-f', input, '-o', output]);
    expect(run).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(fs.readFileSync(output, 'utf8')).toContain('name: genai-sidecar');
  });

  test('warnings go to stderr, one line each, and the output is still written', async () => {
    const optedOut = POD.replace('metadata:\n', 'metadata:\n  annotations:\n    genai-sidecar.io/inject: "false"\n');
    const run = await runCli(['inject', '-f', '-'], { stdin: optedOut });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(optedOut);
    expect(run.stderr).toBe('genai-sidecar: warning: Pod/p: opted out with genai-sidecar.io/inject: "false"; left unchanged\n');
  });

  test.each([
    ['no -f', ['inject'], {}, "genai-sidecar: error: required option '-f, --filename <file>' not specified\n"],
    ['a missing file', ['inject', '-f', '/nonexistent/x.yaml'], {}, 'genai-sidecar: error: cannot read /nonexistent/x.yaml (ENOENT)\n'],
    ['an unknown flag', ['inject', '-f', '-', '--upstreams', 'x'], {}, "genai-sidecar: error: unknown option '--upstreams' (Did you mean --upstream?)\n"],
    [
      'a bad --upstream',
      ['inject', '-f', '-', '--upstream', 'openai=ftp://x'],
      {},
      'genai-sidecar: error: --upstream "openai=ftp://x": only http and https upstreams are supported\n',
    ],
    [
      'a bad upstream from the environment',
      ['inject', '-f', '-'],
      { GENAI_SIDECAR_INJECT_UPSTREAMS: 'openai=https://api.openai.com,nope=http://x' },
      'genai-sidecar: error: GENAI_SIDECAR_INJECT_UPSTREAMS "nope=http://x": route "nope" is not a known provider; name one with nope:<provider>=<url>',
    ],
    ['a bad --header-attribute', ['inject', '-f', '-', '--header-attribute', 'x-team=Team'], {}, 'genai-sidecar: error: --header-attribute: attribute "Team" must be lower-case'],
    ['a bad --collector-endpoint', ['inject', '-f', '-', '--collector-endpoint', 'collector:4317'], {}, 'genai-sidecar: error: --collector-endpoint: "collector:4317" must be an http or https URL (OTLP/HTTP)\n'],
    ['a bad legacy-sidecar variable', ['inject', '-f', '-'], { GENAI_SIDECAR_INJECT_LEGACY_SIDECAR: 'yes' }, 'genai-sidecar: error: GENAI_SIDECAR_INJECT_LEGACY_SIDECAR: "yes" must be true or false\n'],
  ])('%s: one line, exit 2', async (_name, argv, env: Record<string, string>, message) => {
    const run = await runCli(argv, { env, stdin: POD });
    expect(run.code).toBe(USAGE_ERROR_EXIT_CODE);
    expect(run.stdout).toBe('');
    expect(run.stderr.startsWith(message)).toBe(true);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  test.each([
    ['invalid YAML', 'kind: Pod\nspec: [unclosed\n', /^genai-sidecar: error: invalid YAML: .* at line \d+, column \d+/],
    ['a bad annotation', POD.replace('metadata:\n', 'metadata:\n  annotations:\n    genai-sidecar.io/memory-limit: 1 GB\n'), /^genai-sidecar: error: Pod\/p: annotation genai-sidecar.io\/memory-limit: "1 GB" is not a Kubernetes quantity/],
  ])('%s in the input: one line, exit 2, nothing written', async (_name, stdin, message) => {
    const output = path.join(dir, `never-${_name.replace(/\W/g, '')}.yaml`);
    const run = await runCli(['inject', '-f', '-', '-o', output], { stdin });
    expect(run.code).toBe(USAGE_ERROR_EXIT_CODE);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(fs.existsSync(output)).toBe(false);
  });
});

describe('webhook', () => {
  test('defaults', async () => {
    const run = await runCli(['webhook', ...WEBHOOK_TLS]);
    expect(run.code).toBe(0);
    expect(run.webhookConfigs).toEqual([
      {
        listen: { host: '0.0.0.0', port: 8443 },
        tlsCertFile: 'cert.pem',
        tlsKeyFile: 'key.pem',
        injection: {
          image: `ghcr.io/genai-sidecar/genai-sidecar:${TEST_VERSION}`,
          collectorEndpoint: DEFAULT_COLLECTOR_ENDPOINT,
          upstreams: [],
          headerAttributes: [],
          legacySidecar: false,
          metrics: 'push',
          resources: { cpuRequest: '50m', cpuLimit: '500m', memoryRequest: '64Mi', memoryLimit: '192Mi' },
          version: TEST_VERSION,
        },
      },
    ]);
  });

  test('every setting falls back to its environment variable', async () => {
    const run = await runCli(['webhook'], {
      env: {
        GENAI_SIDECAR_WEBHOOK_LISTEN: '[::]:9443',
        GENAI_SIDECAR_WEBHOOK_TLS_CERT: '/tls/tls.crt',
        GENAI_SIDECAR_WEBHOOK_TLS_KEY: '/tls/tls.key',
        GENAI_SIDECAR_INJECT_IMAGE: 'mirror/genai-sidecar:1',
        GENAI_SIDECAR_INJECT_COLLECTOR_ENDPOINT: 'http://collector:4318',
        GENAI_SIDECAR_INJECT_UPSTREAMS: 'openai=https://api.openai.com, anthropic=https://api.anthropic.com',
        GENAI_SIDECAR_INJECT_HEADER_ATTRIBUTES: 'x-team=team',
        GENAI_SIDECAR_INJECT_LEGACY_SIDECAR: 'true',
      },
    });
    expect(run.stderr).toBe('');
    expect(run.webhookConfigs[0]).toMatchObject({
      listen: { host: '::', port: 9443 },
      tlsCertFile: '/tls/tls.crt',
      tlsKeyFile: '/tls/tls.key',
      injection: {
        image: 'mirror/genai-sidecar:1',
        collectorEndpoint: 'http://collector:4318',
        upstreams: ['openai=https://api.openai.com', 'anthropic=https://api.anthropic.com'],
        headerAttributes: ['x-team=team'],
        legacySidecar: true,
      },
    });
  });

  test('a flag beats its environment variable', async () => {
    const run = await runCli(['webhook', ...WEBHOOK_TLS, '--listen', '127.0.0.1:0', '--image', 'flag/image:1'], {
      env: { GENAI_SIDECAR_WEBHOOK_LISTEN: '0.0.0.0:1', GENAI_SIDECAR_INJECT_IMAGE: 'env/image:1' },
    });
    expect(run.webhookConfigs[0]).toMatchObject({ listen: { host: '127.0.0.1', port: 0 }, injection: { image: 'flag/image:1' } });
  });

  test.each([
    ['no certificate', ['webhook', '--tls-key', 'k'], 'genai-sidecar: error: --tls-cert is required\n'],
    ['no key', ['webhook', '--tls-cert', 'c'], 'genai-sidecar: error: --tls-key is required\n'],
    ['a bad --listen', ['webhook', ...WEBHOOK_TLS, '--listen', '8443'], 'genai-sidecar: error: --listen: "8443" must be <host>:<port>, e.g. 0.0.0.0:8443\n'],
    ['a bad injection flag', ['webhook', ...WEBHOOK_TLS, '--image', ''], 'genai-sidecar: error: --image: "" is not an image reference\n'],
  ])('%s: one line, exit 2', async (_name, argv, message) => {
    const run = await runCli(argv);
    expect(run).toMatchObject({ code: USAGE_ERROR_EXIT_CODE, stdout: '', stderr: message, webhookConfigs: [] });
  });

  test('an unreadable certificate stops the real server before it listens: one line, exit 2', async () => {
    const run = await runCli(['webhook', '--tls-cert', '/nonexistent/tls.crt', '--tls-key', '/nonexistent/tls.key', '--listen', '127.0.0.1:0'], { serveWebhook: 'real' });
    expect(run.code).toBe(USAGE_ERROR_EXIT_CODE);
    expect(run.stderr).toBe('genai-sidecar: error: cannot read the TLS certificate /nonexistent/tls.crt (ENOENT)\n');
  });
});
