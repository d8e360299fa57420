/**
 * AWS event streams through the real sidecar when the frames are not what they should be: every
 * byte still reaches the client as the provider sent it, each frame as it arrives, and the
 * reading that had to stop is counted once as a telemetry error.
 */
import { request } from 'node:http';
import { ATTR, METRICS } from '../../src/telemetry/names';
import { awsFrames, loadCorpus, responseBytes, type CorpusExchange } from '../helpers/corpus';
import { pointsOf, startHarness, type Harness } from '../helpers/harness';

const exchange = loadCorpus().find((e) => e.file === 'aws_bedrock/converse_stream_claude3_tool_use.json') as CorpusExchange;
const PATH = '/bedrock/model/anthropic.claude-3-sonnet-20240229-v1%3A0/converse-stream';
let harness: Harness;

beforeAll(async () => {
  harness = await startHarness({ routes: ['bedrock'], flags: { headerAttribute: ['x-test-case=test_case'] } });
});
afterAll(async () => {
  await harness.close();
});

/** The client's bytes, and when each network chunk arrived. */
function call(testCase: string): Promise<{ body: Buffer; arrivals: number }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(PATH, harness.sidecar.url), { method: 'POST', headers: { 'content-type': 'application/json', 'x-test-case': testCase } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (chunk: Buffer) => parts.push(chunk));
      res.on('end', () => resolve({ body: Buffer.concat(parts), arrivals: parts.length }));
    });
    req.on('error', reject);
    req.end('{"messages":[]}');
  });
}

async function telemetryErrors(stage: string): Promise<number> {
  await harness.sidecar.telemetry.flush();
  return pointsOf(harness.receiver.latest(), METRICS.telemetryErrors.name, { [ATTR.telemetryStage]: stage }).at(-1)?.value ?? 0;
}

test('frames cut across chunks and a frame with a bad CRC: the client gets every byte, the tokens before it are lost, one telemetry error', async () => {
  const bytes = Buffer.from(responseBytes(exchange));
  const frames = awsFrames(bytes);
  // Damage the payload of the last frame (the metadata event with the usage): its CRC fails.
  bytes[bytes.length - 6] ^= 0xff;
  // Pieces that cut frames anywhere: 7, 300, 7, 300... bytes.
  const chunks: Buffer[] = [];
  for (let at = 0, index = 0; at < bytes.length; index += 1) {
    const size = index % 2 === 0 ? 7 : 300;
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  const before = await telemetryErrors('eventstream');
  harness.provider.enqueue({ status: 200, headers: exchange.response.headers, chunks, pauseMs: 2 });
  const result = await call('bad-crc');
  expect(result.body.equals(bytes)).toBe(true);
  // Relayed as it came, not gathered: many separate arrivals for the many pieces.
  expect(result.arrivals).toBeGreaterThan(frames.length);
  expect(await telemetryErrors('eventstream')).toBe(before + 1);
  const points = await harness.metrics((all) => pointsOf(all, METRICS.operationDuration.name, { test_case: 'bad-crc' }).length > 0);
  // The call is measured (streamed, first chunk timed), without the usage the damaged frame held.
  expect(pointsOf(points, METRICS.timeToFirstChunk.name, { test_case: 'bad-crc' })).toHaveLength(1);
  expect(pointsOf(points, METRICS.tokenUsage.name, { test_case: 'bad-crc' })).toHaveLength(0);
  expect(pointsOf(points, METRICS.operationDuration.name, { test_case: 'bad-crc' })[0]?.attributes[ATTR.errorType]).toBeUndefined();
});

test('an answer that claims to be an event stream but is garbage reaches the client untouched', async () => {
  const garbage = Buffer.from('<html><body>upstream proxy error</body></html>\n'.repeat(20));
  const before = await telemetryErrors('eventstream');
  harness.provider.enqueue({ status: 200, headers: { 'content-type': 'application/vnd.amazon.eventstream' }, chunks: [garbage.subarray(0, 100), garbage.subarray(100)] });
  const result = await call('garbage');
  expect(result.body.equals(garbage)).toBe(true);
  expect(await telemetryErrors('eventstream')).toBe(before + 1);
});
