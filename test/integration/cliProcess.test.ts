/**
 * The built binary as a real process: `node dist/src/cli/main.js run ...` between a fake
 * provider and an OTLP receiver, all on 127.0.0.1. Checks the ready log line, the health
 * endpoints, one proxied chat completion, the exported metrics and a clean SIGTERM exit; and
 * that usage errors / help behave the same as in-process.
 *
 * Needs `dist/`: `make test` builds first; without it this suite fails with a clear message.
 */
import { request } from 'node:http';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ATTR, METRICS, RESOURCE_ATTR } from '../../src/telemetry/names';
import { cleanEnv, REPO_ROOT, requireBuiltCli, runCli, startCli, type CliProcess } from '../helpers/cliProcess';
import { startFakeProvider, type FakeProvider } from '../helpers/fakeProvider';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedPoint } from '../helpers/otlpReceiver';

jest.setTimeout(30_000);

const PACKAGE_VERSION = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

interface HttpResult {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

function http(method: string, url: string, body?: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('the built CLI exists (run `npx tsc -p tsconfig.json` or `make test`)', () => {
  expect(() => requireBuiltCli()).not.toThrow();
});

describe('genai-sidecar run, as a process', () => {
  let provider: FakeProvider;
  let receiver: OtlpReceiver;
  let cli: CliProcess;
  let ready: Record<string, unknown>;

  const COMPLETION = {
    id: 'chatcmpl-cli-test',
    object: 'chat.completion',
    created: 1774962775,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, message: { role: 'assistant', content: 'pong' }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
  };

  beforeAll(async () => {
    requireBuiltCli();
    provider = await startFakeProvider();
    receiver = await startOtlpReceiver();
    cli = startCli(
      [
        'run',
        '--listen', '127.0.0.1:0',
        '--admin-listen', '127.0.0.1:0',
        '--upstream', `openai=${provider.url}`,
        '--otlp-endpoint', receiver.url,
        '--otlp-protocol', 'http/json',
        '--export-interval', '200',
        '--log-format', 'json',
      ],
      // An env fallback reaching the real process: the resource attribute must show up in the export.
      cleanEnv({ OTEL_RESOURCE_ATTRIBUTES: 'k8s.pod.name=cli-test-pod' }),
    );
    ready = await cli.waitForJsonLine((line) => line.msg === 'genai-sidecar ready');
  });

  afterAll(async () => {
    cli?.kill();
    await provider?.close();
    await receiver?.close();
  });

  test('logs one JSON ready line on stderr with loopback URLs, the route and the OTLP URL', () => {
    expect(ready.level).toBe('info');
    expect(ready.listen).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.admin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.listen).not.toBe(ready.admin);
    expect(ready.routes).toBe(`/openai -> ${provider.url} (openai)`);
    expect(ready.otlp).toBe(`${receiver.url}/v1/metrics`);
    expect(cli.stdout()).toBe('');
    // Every stderr line so far is JSON (--log-format json).
    for (const line of cli.stderr().split('\n').filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow();
  });

  test.each(['/healthz', '/readyz'])('%s answers 200', async (probe) => {
    const result = await http('GET', `${String(ready.admin)}${probe}`);
    expect(result.status).toBe(200);
  });

  test('a chat completion goes through and its metrics reach the OTLP receiver', async () => {
    provider.enqueue({ status: 200, headers: { 'content-type': 'application/json' }, chunks: [JSON.stringify(COMPLETION)] });
    const requestBody = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'ping' }] });
    const response = await http('POST', `${String(ready.listen)}/openai/v1/chat/completions`, requestBody, {
      'content-type': 'application/json',
      authorization: 'Bearer sk-test',
    });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual(COMPLETION);

    // The provider saw the request at the route's rest path, with the client's credentials.
    expect(provider.received).toHaveLength(1);
    expect(provider.received[0].url).toBe('/v1/chat/completions');
    expect(provider.received[0].headers.authorization).toBe('Bearer sk-test');

    const call = { [ATTR.providerName]: 'openai', [ATTR.requestModel]: 'gpt-4o-mini' };
    const matches = (point: ReceivedPoint, metric: string, extra: Record<string, string> = {}): boolean =>
      point.metric === metric && Object.entries({ ...call, ...extra }).every(([key, value]) => point.attributes[key] === value);
    const points = await receiver.waitFor(
      (all) =>
        all.some((p) => matches(p, METRICS.operationDuration.name) && (p.count ?? 0) >= 1) &&
        all.some((p) => matches(p, METRICS.tokenUsage.name, { [ATTR.tokenType]: 'input' }) && p.sum === 12) &&
        all.some((p) => matches(p, METRICS.tokenUsage.name, { [ATTR.tokenType]: 'output' }) && p.sum === 5),
      10_000,
    );

    const duration = points.filter((p) => matches(p, METRICS.operationDuration.name)).at(-1) as ReceivedPoint;
    expect(duration.kind).toBe('histogram');
    expect(duration.unit).toBe('s');
    expect(duration.count).toBe(1);
    expect(duration.sum).toBeGreaterThan(0);
    expect(duration.attributes[ATTR.responseModel]).toBe('gpt-4o-mini-2024-07-18');
    expect(duration.attributes[ATTR.serverAddress]).toBe('127.0.0.1');
    expect(duration.attributes[ATTR.serverPort]).toBe(provider.port);

    const input = points.filter((p) => matches(p, METRICS.tokenUsage.name, { [ATTR.tokenType]: 'input' })).at(-1) as ReceivedPoint;
    expect(input.unit).toBe('{token}');
    expect(input.count).toBe(1);

    for (const point of [duration, input]) {
      expect(point.resource[RESOURCE_ATTR.serviceName]).toBe('genai-sidecar');
      expect(point.resource[RESOURCE_ATTR.serviceInstanceId]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(point.resource[RESOURCE_ATTR.serviceVersion]).toBe(PACKAGE_VERSION);
      expect(point.resource[RESOURCE_ATTR.pod]).toBe('cli-test-pod');
    }
    // One process, one instance id.
    expect(new Set(points.map((p) => p.resource[RESOURCE_ATTR.serviceInstanceId])).size).toBe(1);
    // The exporter used the requested encoding.
    expect(receiver.requests.length).toBeGreaterThan(0);
    expect(receiver.requests.every((r) => r.contentType.startsWith('application/json') && r.status === 200)).toBe(true);
  });

  test('SIGTERM: exits 0 within a few seconds, after logging the shutdown', async () => {
    const started = Date.now();
    expect(cli.child.kill('SIGTERM')).toBe(true);
    const exit = await cli.exited(5_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(5_000);
    const lines = cli
      .stderr()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'shutting down', signal: 'SIGTERM' }));
    expect(lines.filter((line) => line.level === 'error')).toEqual([]);
    // The listeners are gone.
    await expect(http('GET', `${String(ready.admin)}/healthz`)).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('usage errors, help and version, as a process', () => {
  test.each([
    [['run', '--bogus'], '--bogus'],
    [['run', '--listn', '127.0.0.1:1'], '--listen'],
    [['run', '--listen', '127.0.0.1:70000'], '--listen'],
    [['run', '--otlp-protocol', 'grpc'], '--otlp-protocol'],
    [['run', '--upstream', 'foo=http://127.0.0.1:1'], 'foo:<provider>='],
  ])('%j exits 2 with one stderr line', async (args, mention) => {
    const result = await runCli(args);
    expect(result).toEqual(expect.objectContaining({ code: 2, signal: null, stdout: '' }));
    expect(result.stderr).toMatch(/^genai-sidecar: error: [^\n]+\n$/);
    expect(result.stderr).toContain(mention);
  });

  test('a bad env value exits 2 and names the variable', async () => {
    const result = await runCli(['run'], cleanEnv({ OTEL_METRIC_EXPORT_INTERVAL: 'often' }));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^genai-sidecar: error: OTEL_METRIC_EXPORT_INTERVAL: [^\n]+\n$/);
  });

  test('--help exits 0 with the usage on stdout', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^Usage: genai-sidecar/);
    expect(result.stdout).toContain('run [options]');
  });

  test('run --help exits 0 and lists the flags', async () => {
    const result = await runCli(['run', '--help']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('--listen <host:port>');
    expect(result.stdout).toContain('127.0.0.1:8787');
    expect(result.stdout).toContain('OTEL_EXPORTER_OTLP_ENDPOINT');
  });

  test('--version prints the package version', async () => {
    const result = await runCli(['--version']);
    expect(result).toEqual({ code: 0, signal: null, stdout: `${PACKAGE_VERSION}\n`, stderr: '' });
  });

  test('a port already in use is a fatal error (exit 1), not a usage error', async () => {
    const blocker = await startFakeProvider();
    try {
      const result = await runCli(['run', '--listen', `127.0.0.1:${blocker.port}`, '--admin-listen', '127.0.0.1:0', '--upstream', `openai=${blocker.url}`]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^genai-sidecar: fatal: .*EADDRINUSE/m);
    } finally {
      await blocker.close();
    }
  });
});
