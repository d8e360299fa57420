/**
 * Listens on loopback by default, and no configuration secret leaves through the admin port,
 * the logs or a configuration error: a sidecar configured with canary tokens in its OTLP
 * export headers and in its OTLP endpoint URL (userinfo and query) is probed on every admin
 * path, made to log an export outage and its recovery, and its config errors are read.
 */
import http from 'node:http';
import { resolveRunConfig, type RawFlags } from '../../src/cli/runFlags';
import { ConfigError } from '../../src/config/errors';
import { silentLogger } from '../../src/log/logger';
import { startSidecar } from '../../src/sidecar';
import { startHarness, type Harness } from '../helpers/harness';
import { startOtlpReceiver } from '../helpers/otlpReceiver';

const CANARY = {
  otlpHeader: 'canary-OTLP-HEADER-6b1f0e',
  otlpTenant: 'canary-OTLP-TENANT-2d93aa',
  otlpUserinfo: 'canary-OTLP-USERINFO-8c4d17',
  otlpQuery: 'canary-OTLP-QUERY-f05b3c',
  upstreamUserinfo: 'canary-UPSTREAM-USERINFO-71e2b9',
  upstreamQuery: 'canary-UPSTREAM-QUERY-3a6c58',
};

describe('listens on loopback by default', () => {
  test('the default configuration binds the proxy and the admin port to 127.0.0.1 only', async () => {
    const defaults = resolveRunConfig({}, {}, 'test');
    expect([defaults.listen.host, defaults.adminListen.host]).toEqual(['127.0.0.1', '127.0.0.1']);
    // Only the ports change (8787/8788 may be taken); the hosts are the defaults. No call is made,
    // and telemetry goes to a local receiver instead of the default localhost:4318.
    const receiver = await startOtlpReceiver();
    const sidecar = await startSidecar(
      {
        ...defaults,
        listen: { ...defaults.listen, port: 0 },
        adminListen: { ...defaults.adminListen, port: 0 },
        telemetry: { ...defaults.telemetry, metricsUrl: `${receiver.url}/v1/metrics` },
      },
      silentLogger,
    );
    try {
      expect(new URL(sidecar.url).hostname).toBe('127.0.0.1');
      expect(new URL(sidecar.adminUrl).hostname).toBe('127.0.0.1');
    } finally {
      await sidecar.stop();
      await receiver.close();
    }
  });
});

describe('configuration secrets never leave', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness({
      routes: ['openai'],
      flags: ({ receiver }) => ({
        otlpHeader: [`authorization=Bearer ${CANARY.otlpHeader}`, `x-scope-orgid=${CANARY.otlpTenant}`],
        otlpEndpoint: `${receiver.replace('http://', `http://metrics:${CANARY.otlpUserinfo}@`)}/v1/metrics?api_key=${CANARY.otlpQuery}`,
        exportTimeout: '300',
        logLevel: 'debug',
      }),
    });
    // One call, so there is something to export.
    harness.provider.enqueue({ status: 200, headers: { 'content-type': 'application/json' }, chunks: ['{"model":"m","usage":{"prompt_tokens":1}}'] });
    await (await fetch(`${harness.sidecar.url}/openai/v1/chat/completions`, { method: 'POST', body: '{"model":"m","messages":[]}' })).text();
  });
  afterAll(async () => {
    await harness.close();
  });

  const ADMIN_PATHS = [
    '/', '/healthz', '/readyz', '/healthz?verbose=1', '/readyz?full=true', '/config', '/configz', '/env', '/debug',
    '/debug/vars', '/debug/pprof', '/metrics', '/v1/metrics', '/routes', '/status', '/version', '/admin', '/.env',
    '/../../proc/self/environ', '/%2e%2e/config', '/healthz/../config',
  ];

  function adminRequest(method: string, path: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = http.request(`${harness.sidecar.adminUrl}${path}`, { method });
      req.on('response', (res) => {
        let text = `${res.statusCode} ${JSON.stringify(res.headers)}\n`;
        res.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end(method === 'POST' ? '{"dump":"config"}' : undefined);
    });
  }

  test('every admin path, known or not, with any method, answers without a secret or a configured address', async () => {
    const answers: string[] = [];
    for (const path of ADMIN_PATHS) {
      for (const method of ['GET', 'HEAD', 'POST', 'OPTIONS']) answers.push(`${method} ${path} -> ${await adminRequest(method, path)}`);
    }
    const everything = answers.join('\n');
    expect(everything).toContain('"status":"ok"'); // the probe reached the admin server
    for (const canary of Object.values(CANARY)) expect({ canary, found: everything.includes(canary) }).toEqual({ canary, found: false });
    // Nor where the configured upstream and collector are.
    expect(everything).not.toContain(String(harness.provider.port));
    expect(everything).not.toContain(new URL(harness.receiver.url).port);
    expect(everything).not.toContain('http://');
  });

  test('no log line carries them, through start-up, an export outage and its recovery', async () => {
    harness.receiver.respondWith(503);
    await harness.sidecar.telemetry.flush();
    harness.receiver.respondWith(200);
    await harness.sidecar.telemetry.flush();
    const logs = harness.logLines.join('');
    // The outage and the recovery were logged (so those lines were checked) ...
    expect(logs).toContain('metrics export failing');
    expect(logs).toContain('metrics export recovered');
    // ... the export really carried the configured headers (the canaries were in use) ...
    const sent = harness.receiver.requestHeaders();
    expect(sent.some((headers) => headers.authorization === `Bearer ${CANARY.otlpHeader}`)).toBe(true);
    // ... and no line shows any of them; the endpoint is still named, without its userinfo and query.
    for (const canary of Object.values(CANARY)) expect({ canary, inLogs: logs.includes(canary) }).toEqual({ canary, inLogs: false });
    expect(logs).toContain(`http://[redacted]@${new URL(harness.receiver.url).host}/v1/metrics?[redacted]`);
  });
});

describe('configuration errors do not echo secrets', () => {
  const upstream = 'http://127.0.0.1:9';
  test.each<[string, RawFlags, RegExp]>([
    ['upstream URL with userinfo', { upstream: [`openai=${upstream.replace('//', `//user:${CANARY.upstreamUserinfo}@`)}/v1`] }, /must not carry a query, fragment or credentials/],
    ['upstream URL with a key in the query', { upstream: [`openai=${upstream}/v1?key=${CANARY.upstreamQuery}`] }, /must not carry a query, fragment or credentials/],
    ['upstream URL with userinfo on an unknown route', { upstream: [`nope=${upstream.replace('//', `//user:${CANARY.upstreamUserinfo}@`)}`] }, /not a known provider/],
    ['OTLP header written with a colon instead of =', { otlpHeader: [`authorization: Bearer ${CANARY.otlpHeader}`] }, /must be key=value/],
    ['OTLP header with a broken percent-encoding', { otlpHeader: [`authorization=Bearer ${CANARY.otlpHeader}%zz`] }, /invalid percent-encoding/],
  ])('%s: rejected, and the message does not contain the secret', (_name, flags, reason) => {
    let message = '';
    try {
      resolveRunConfig(flags, {}, 'test');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      message = (error as Error).message;
    }
    expect(message).toMatch(reason);
    for (const canary of Object.values(CANARY)) expect(message).not.toContain(canary);
  });
});
