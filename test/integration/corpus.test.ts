/**
 * Every recorded exchange (except Bedrock, which needs request re-signing) is replayed by a
 * fake provider, sent through the real sidecar, and checked twice: the client receives the
 * recorded bytes exactly, and the exported OTLP metrics carry the recorded tokens, models,
 * operation, provider and error type.
 */
import { request } from 'node:http';
import { ATTR, METRICS, TOKEN_DETAIL_TYPE } from '../../src/telemetry/names';
import { loadCorpus, normalisedTokens, operationOf, PROVIDER_NAME, responseBytes, responseChunks, ROUTE_FOR_PROVIDER, type CorpusExchange } from '../helpers/corpus';
import { pointsOf, startHarness, type Harness } from '../helpers/harness';
import type { ReceivedPoint } from '../helpers/otlpReceiver';

const corpus = loadCorpus();
let harness: Harness;

beforeAll(async () => {
  harness = await startHarness({
    routes: [...new Set(Object.values(ROUTE_FOR_PROVIDER))],
    // Each exchange is told apart by a mapped header, exercising the header-attribute feature.
    flags: { headerAttribute: ['x-test-case=test_case'], maxAttributeValues: '1000' },
  });
});

afterAll(async () => {
  await harness.close();
});

test('the corpus is all here', () => {
  expect(corpus.length).toBeGreaterThanOrEqual(68);
  expect(corpus.every((exchange) => exchange.source.length > 0)).toBe(true);
});

interface ClientResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function send(exchange: CorpusExchange, testCase: string): Promise<ClientResult> {
  const route = ROUTE_FOR_PROVIDER[exchange.provider];
  const body = JSON.stringify(exchange.request.body);
  const target = new URL(`/${route}${exchange.request.path}`, harness.sidecar.url);
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: exchange.request.method,
        headers: { ...exchange.request.headers, 'content-type': 'application/json', 'x-test-case': testCase },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (chunk: Buffer) => parts.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function single(points: ReceivedPoint[]): ReceivedPoint | undefined {
  expect(points.length).toBeLessThanOrEqual(1);
  return points[0];
}

describe.each(corpus.map((exchange, index) => [exchange.file, exchange, `case-${index}`] as const))('%s', (_file, exchange, testCase) => {
  test('client gets the recorded bytes and the metrics carry the recorded facts', async () => {
    harness.provider.enqueue({
      status: exchange.response.status,
      headers: exchange.response.headers,
      chunks: responseChunks(exchange),
    });
    const result = await send(exchange, testCase);

    expect(result.status).toBe(exchange.response.status);
    expect(result.body.equals(responseBytes(exchange))).toBe(true);
    for (const [name, value] of Object.entries(exchange.response.headers)) {
      expect([name, result.headers[name.toLowerCase()]]).toEqual([name, value]);
    }

    const upstream = harness.provider.received[harness.provider.received.length - 1];
    expect(upstream?.url).toBe(exchange.request.path);

    const match = { test_case: testCase };
    const points = await harness.metrics((all) => pointsOf(all, METRICS.operationDuration.name, match).length > 0);
    const duration = single(pointsOf(points, METRICS.operationDuration.name, match));
    const e = exchange.expected;
    expect(duration?.count).toBe(1);
    expect(duration?.attributes).toMatchObject({
      [ATTR.operationName]: operationOf(exchange),
      [ATTR.providerName]: PROVIDER_NAME[exchange.provider],
      [ATTR.serverAddress]: '127.0.0.1',
      [ATTR.serverPort]: harness.provider.port,
      [ATTR.httpStatusCode]: exchange.response.status,
    });
    expect(duration?.attributes[ATTR.requestModel]).toBe(e.request_model ?? undefined);
    expect(duration?.attributes[ATTR.responseModel]).toBe(e.response_model ?? undefined);
    expect(duration?.attributes[ATTR.errorType]).toBe(e.error_type ?? undefined);

    const tokens = normalisedTokens(exchange);
    const tokenSum = (type: string): number | undefined =>
      single(pointsOf(points, METRICS.tokenUsage.name, { ...match, [ATTR.tokenType]: type }))?.sum;
    expect(tokenSum('input')).toBe(tokens.input);
    expect(tokenSum('output')).toBe(tokens.output);

    const detail = (type: string): number | undefined =>
      single(pointsOf(points, METRICS.tokenDetail.name, { ...match, [ATTR.tokenDetailType]: type }))?.value;
    expect(detail(TOKEN_DETAIL_TYPE.cacheRead)).toBe(tokens.cacheRead);
    expect(detail(TOKEN_DETAIL_TYPE.cacheWrite)).toBe(tokens.cacheWrite);
    expect(detail(TOKEN_DETAIL_TYPE.reasoning)).toBe(tokens.reasoning);

    const firstChunk = pointsOf(points, METRICS.timeToFirstChunk.name, match);
    const streamedSuccess = exchange.stream && exchange.response.status < 400;
    expect(firstChunk.length).toBe(streamedSuccess ? 1 : 0);
  });
});
