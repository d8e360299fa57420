/**
 * Not an open proxy, and secrets never leave: requests crafted to reach another host only ever
 * reach the configured upstream (or nothing), and canary secrets planted in credentials, query
 * strings, prompts and completions appear in no exported metric byte and no log line.
 */
import http from 'node:http';
import net from 'node:net';
import { METRICS } from '../../src/telemetry/names';
import { loadCorpus, responseChunks, ROUTE_FOR_PROVIDER } from '../helpers/corpus';
import { startFakeProvider, type FakeProvider } from '../helpers/fakeProvider';
import { TEST_AWS_ENV } from '../helpers/cliProcess';
import { pointsOf, startHarness, type Harness } from '../helpers/harness';
import type { ReceivedPoint } from '../helpers/otlpReceiver';

let harness: Harness;
/** A host no route points at: nothing may ever reach it through the sidecar. */
let forbidden: FakeProvider;

beforeAll(async () => {
  forbidden = await startFakeProvider();
  harness = await startHarness({
    routes: [...new Set(Object.values(ROUTE_FOR_PROVIDER))],
    // Debug logging on purpose: even the most verbose logs must not leak.
    flags: { logLevel: 'debug', headerAttribute: ['x-test-case=test_case'], maxAttributeValues: '50' },
  });
});

afterAll(async () => {
  await harness.close();
  await forbidden.close();
});

function rawRequest(lines: string[]): Promise<string> {
  const url = new URL(harness.sidecar.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname, () => socket.end(`${lines.join('\r\n')}\r\n\r\n`));
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('end', () => resolve(text));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
    socket.setTimeout(3000, () => socket.destroy());
  });
}

describe('not an open proxy', () => {
  const target = (): string => `127.0.0.1:${forbidden.port}`;
  test.each([
    ['Host header naming another host', () => [`GET /openai/v1/models HTTP/1.1`, `Host: ${target()}`, 'Connection: close']],
    ['absolute-form target', () => [`GET http://${target()}/v1/models HTTP/1.1`, `Host: ${target()}`, 'Connection: close']],
    ['CONNECT tunnel', () => [`CONNECT ${target()} HTTP/1.1`, `Host: ${target()}`]],
    ['dot-dot segments out of the route', () => [`GET /openai/../../http://${target()}/ HTTP/1.1`, 'Host: x', 'Connection: close']],
    ['encoded slashes', () => [`GET /openai%2F..%2F..%2F${target()}/v1 HTTP/1.1`, 'Host: x', 'Connection: close']],
    ['a route name that is a URL', () => [`GET /http:%2F%2F${target()}/v1 HTTP/1.1`, 'Host: x', 'Connection: close']],
  ])('%s never reaches another host', async (_name, lines) => {
    await rawRequest(lines());
    expect(forbidden.received).toHaveLength(0);
    // Whatever was forwarded went to the configured upstream, with its own Host.
    for (const request of harness.provider.received) expect(request.headers.host).toBe(`127.0.0.1:${harness.provider.port}`);
  });

  test('redirects from the provider are passed to the client, never followed', async () => {
    harness.provider.enqueue({ status: 302, headers: { location: `http://127.0.0.1:${forbidden.port}/steal` }, chunks: [''] });
    const response = await fetch(`${harness.sidecar.url}/openai/v1/models`, { redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe(`http://127.0.0.1:${forbidden.port}/steal`);
    expect(forbidden.received).toHaveLength(0);
  });
});

describe('secrets never leave', () => {
  const CANARY = {
    authorization: 'sk-canary-AUTHORIZATION-7f3a9c',
    apiKeyHeader: 'canary-X-API-KEY-52b1e0',
    azureKey: 'canary-API-KEY-HEADER-91de44',
    queryKey: 'canary-QUERY-KEY-0c77aa',
    prompt: 'canary-PROMPT-TEXT-3e58d2',
    completion: 'canary-COMPLETION-TEXT-a4410f',
  };

  function plantPrompt(body: unknown): unknown {
    return { ...(body as Record<string, unknown>), canary_note: CANARY.prompt, messages_extra: [{ role: 'user', content: CANARY.prompt }] };
  }

  /** Put the completion canary inside the recorded answer, keeping it valid JSON/SSE. */
  function plantCompletion(text: string): string {
    return text.replace(/"(content|text|response)":"/, `"$1":"${CANARY.completion} `);
  }


  test('the whole corpus with planted canaries: no canary in any exported byte or log line', async () => {
    const corpus = loadCorpus();
    for (const exchange of corpus) {
      // Text answers carry a planted completion; binary ones (AWS event streams) go as recorded.
      const text = exchange.response.body_text;
      const planted = { ...exchange, response: { ...exchange.response, body_text: text === null ? null : plantCompletion(text) } };
      harness.provider.enqueue({ status: exchange.response.status, headers: exchange.response.headers, chunks: responseChunks(planted) });
      const separator = exchange.request.path.includes('?') ? '&' : '?';
      const path = `/${ROUTE_FOR_PROVIDER[exchange.provider]}${exchange.request.path}${separator}key=${CANARY.queryKey}`;
      const response = await fetch(`${harness.sidecar.url}${path}`, {
        method: 'POST',
        headers: {
          ...exchange.request.headers,
          'content-type': 'application/json',
          authorization: `Bearer ${CANARY.authorization}`,
          'x-api-key': CANARY.apiKeyHeader,
          'api-key': CANARY.azureKey,
        },
        body: JSON.stringify(plantPrompt(exchange.request.body)),
      });
      await response.arrayBuffer();
    }
    // The canaries did travel to the provider (so the test is not vacuous) ...
    const upstream = harness.provider.received.map((r) => `${r.url} ${JSON.stringify(r.headers)} ${r.body.toString('utf8')}`).join('\n');
    for (const canary of [CANARY.authorization, CANARY.apiKeyHeader, CANARY.queryKey, CANARY.prompt]) expect(upstream).toContain(canary);
    // ... and every call was measured and exported ...
    const calls = (all: ReceivedPoint[]): number => pointsOf(all, METRICS.operationDuration.name).reduce((n, p) => n + (p.count ?? 0), 0);
    const points = await harness.metrics((all) => calls(all) >= corpus.length);
    expect(points.length).toBeGreaterThan(0);
    // ... but no exported byte, no byte of /metrics (any format) and no log line carries any of them.
    const exported = harness.receiver.bodies().map((body) => body.toString('latin1')).join('\n');
    const scraped = await Promise.all(
      ['text/plain;version=0.0.4', 'application/openmetrics-text;version=1.0.0', 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited'].map((accept) =>
        fetch(`${harness.sidecar.adminUrl}/metrics`, { headers: { accept } }).then(async (response) => Buffer.from(await response.arrayBuffer()).toString('latin1')),
      ),
    );
    const logs = harness.logLines.join('');
    expect(exported.length).toBeGreaterThan(1000);
    // Every page carries the calls: the text formats as labelled samples, protobuf as the family.
    const [text, openMetrics, protobuf] = scraped as [string, string, string];
    for (const page of [text, openMetrics]) expect(page).toContain(`_count{`);
    expect(protobuf).toContain('gen_ai_client_operation_duration_seconds');
    for (const canary of Object.values(CANARY)) {
      expect({ canary, inMetrics: exported.includes(canary) }).toEqual({ canary, inMetrics: false });
      for (const page of scraped) expect({ canary, inScrape: page.includes(canary) }).toEqual({ canary, inScrape: false });
      expect({ canary, inLogs: logs.includes(canary) }).toEqual({ canary, inLogs: false });
    }
  });
});

describe("the pod's AWS identity (Bedrock routes sign with it)", () => {
  test("signs the call, replaces the app's signature, and appears in no export, scrape or log line", async () => {
    const app = { keyId: 'AKIACANARYAPPKEY0001', signature: 'canary5ab3f0signature', token: 'canary-APP-SESSION-TOKEN-88c1' };
    harness.provider.enqueue({ status: 200, headers: { 'content-type': 'application/json' }, chunks: ['{"output":{"message":{"role":"assistant","content":[{"text":"ok"}]}},"stopReason":"end_turn","usage":{"inputTokens":1,"outputTokens":1}}'] });
    const response = await fetch(`${harness.sidecar.url}/bedrock/model/amazon.nova-lite-v1%3A0/converse`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `AWS4-HMAC-SHA256 Credential=${app.keyId}/20261207/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=${app.signature}`,
        'x-amz-date': '20261207T000000Z',
        'x-amz-security-token': app.token,
        'x-amz-content-sha256': 'canary-content-sha',
      },
      body: '{"messages":[{"role":"user","content":[{"text":"Hi"}]}]}',
    });
    expect(response.status).toBe(200);
    const upstream = harness.provider.received.at(-1);
    // Signed with the pod's key, for the upstream; nothing of the app's signature went on.
    expect(String(upstream?.headers.authorization)).toContain(`Credential=${TEST_AWS_ENV.AWS_ACCESS_KEY_ID}/`);
    const forwarded = JSON.stringify(upstream?.headers);
    for (const value of [app.keyId, app.signature, app.token, 'canary-content-sha', '20261207T000000Z']) expect({ value, forwarded: forwarded.includes(value) }).toEqual({ value, forwarded: false });

    await harness.metrics((all) => pointsOf(all, METRICS.operationDuration.name).some((point) => point.attributes['gen_ai.provider.name'] === 'aws.bedrock'));
    const exported = harness.receiver.bodies().map((body) => body.toString('latin1')).join('\n');
    const scraped = await (await fetch(`${harness.sidecar.adminUrl}/metrics`)).text();
    const logs = harness.logLines.join('');
    const secrets = [TEST_AWS_ENV.AWS_SECRET_ACCESS_KEY as string, String(upstream?.headers.authorization).split('Signature=')[1] as string, app.signature, app.token];
    for (const secret of secrets) {
      expect({ secret, inMetrics: exported.includes(secret), inScrape: scraped.includes(secret), inLogs: logs.includes(secret) }).toEqual({ secret, inMetrics: false, inScrape: false, inLogs: false });
    }
  });
});

describe('cardinality is bounded under attack', () => {
  test('10,000 distinct model names produce at most --max-attribute-values series', async () => {
    for (let i = 0; i < 10_000; i += 1) {
      harness.provider.enqueue({
        status: 200,
        headers: { 'content-type': 'application/json' },
        chunks: [`{"model":"resp-${i}","usage":{"prompt_tokens":1,"completion_tokens":1}}`],
      });
    }
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const url = new URL(`${harness.sidecar.url}/openai/v1/chat/completions`);
    const send = (i: number): Promise<void> =>
      new Promise((resolve, reject) => {
        const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'x-test-case': 'attack' } }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end(`{"model":"attack-${i}","messages":[]}`);
      });
    for (let batch = 0; batch < 10_000; batch += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => send(batch + j)));
    }
    agent.destroy();
    const points = await harness.metrics((all) => {
      const series = pointsOf(all, METRICS.operationDuration.name, { test_case: 'attack' });
      return series.reduce((total, point) => total + (point.count ?? 0), 0) >= 10_000;
    }, 15_000);
    const series = pointsOf(points, METRICS.operationDuration.name, { test_case: 'attack' });
    // The budget (50) is shared by request and response models; everything else is _OTHER.
    expect(series.length).toBeLessThanOrEqual(51 * 51);
    const requestModels = new Set(series.map((point) => point.attributes['gen_ai.request.model']));
    expect(requestModels.size).toBeLessThanOrEqual(51);
    expect(requestModels.has('_OTHER')).toBe(true);
  }, 120_000);
});
