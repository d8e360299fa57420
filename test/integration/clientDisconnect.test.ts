/**
 * A hundred streaming clients that leave mid-stream leak nothing: every upstream request is
 * aborted, the proxy holds no connection for them, sockets and timers return to what they were
 * before, and every call is recorded as `cancelled` with the input tokens seen so far. Checked
 * on sockets, process resources and exported metrics only, so it holds whatever HTTP client
 * the proxy uses upstream.
 */
import http from 'node:http';
import { ATTR, METRICS } from '../../src/telemetry/names';
import { pointsOf, startHarness, type Harness } from '../helpers/harness';
import { trackResources, type ResourceCounts, type ResourceTracker } from '../helpers/liveResources';

const CLIENTS = 100;
const INPUT_TOKENS = 25;
/** Resources that may come and go on their own (the exporter's keep-alive socket, a jest timer). */
const SLACK = 2;

const START = `event: message_start\ndata: {"type":"message_start","message":{"model":"claude-sonnet-4-20250514","usage":{"input_tokens":${INPUT_TOKENS},"output_tokens":1}}}\n\n`;
const BLOCK = 'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n';
const DELTA = 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"word "}}\n\n';
const END = [
  'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":40}}\n\n',
  'event: message_stop\ndata: {"type":"message_stop"}\n\n',
];
/** Long enough (40 x 100 ms) that every client is still mid-stream when it leaves. */
const LONG_STREAM = [START, BLOCK, ...Array<string>(40).fill(DELTA), ...END];

let harness: Harness;
let resources: ResourceTracker;

beforeAll(async () => {
  resources = trackResources();
  harness = await startHarness({ routes: ['anthropic'], flags: { headerAttribute: ['x-test-case=test_case'] } });
});

afterAll(async () => {
  resources.stop();
  await harness.close();
});

interface Leaving {
  /** Resolves once text has started to arrive. */
  midStream: Promise<void>;
}

/**
 * Stream a call. With `leave`, the client destroys its socket once text has started and `leave`
 * has resolved (so a test can look at the process while every stream is live).
 */
function stream(testCase: string, leave?: Promise<void>): Leaving & { done: Promise<void> } {
  let midStream: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (midStream = resolve));
  const done = new Promise<void>((resolve, reject) => {
    const req = http.request(`${harness.sidecar.url}/anthropic/v1/messages`, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', 'x-test-case': testCase },
    });
    req.on('response', (res) => {
      let seen = '';
      res.on('data', (chunk: Buffer) => {
        seen += chunk.toString('utf8');
        if (leave && seen.includes('content_block_delta')) {
          midStream();
          void leave.then(() => {
            req.destroy();
            resolve();
          });
        }
      });
      res.on('end', resolve);
    });
    req.on('error', (error: NodeJS.ErrnoException) => (leave ? undefined : reject(error)));
    req.end(JSON.stringify({ model: 'claude-sonnet-4-0', stream: true, max_tokens: 100, messages: [] }));
  });
  return { midStream: started, done };
}

async function waitFor<T>(read: () => T | Promise<T>, done: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const withinBaseline = (now: ResourceCounts, before: ResourceCounts): boolean =>
  now.sockets <= before.sockets + SLACK && now.timers <= before.timers + SLACK && now.pendingTimers <= before.pendingTimers + SLACK;

test(`${CLIENTS} clients leaving mid-stream: upstreams aborted, no socket, timer or connection left, all recorded as cancelled`, async () => {
  // Warm-up: one full stream and one export, so pools and the exporter exist in the baseline too.
  harness.provider.enqueue({ status: 200, headers: { 'content-type': 'text/event-stream' }, chunks: [START, BLOCK, DELTA, ...END] });
  await stream('warm-up').done;
  await harness.metrics((points) => pointsOf(points, METRICS.operationDuration.name, { test_case: 'warm-up' }).length > 0);
  const before = await waitFor(() => resources.counts(), () => true);
  const abortedBefore = harness.provider.aborted;

  for (let i = 0; i < CLIENTS; i += 1) {
    harness.provider.enqueue({ status: 200, headers: { 'content-type': 'text/event-stream' }, chunks: LONG_STREAM, pauseMs: 100 });
  }
  let leave: () => void = () => undefined;
  const leaving = new Promise<void>((resolve) => (leave = resolve));
  const clients = Array.from({ length: CLIENTS }, () => stream('left', leaving));
  await Promise.all(clients.map((client) => client.midStream));
  const during = resources.counts();
  leave();
  await Promise.all(clients.map((client) => client.done));

  // Every upstream request was aborted (the provider saw its connection close mid-answer) ...
  const aborted = await waitFor(() => harness.provider.aborted - abortedBefore, (n) => n >= CLIENTS);
  // ... the proxy holds no connection for the clients that left ...
  const open = await waitFor(() => harness.sidecar.openConnections(), (n) => n === 0);
  // ... and sockets and timers are back to the baseline.
  const after = await waitFor(() => resources.counts(), (now) => withinBaseline(now, before));
  process.stdout.write(`client disconnect: before ${JSON.stringify(before)}, during ${JSON.stringify(during)}, after ${JSON.stringify(after)}\n`);

  expect(aborted).toBe(CLIENTS);
  expect(open).toBe(0);
  // The measurement sees the live calls at all: client, proxy, upstream and provider ends of each.
  expect(during.sockets).toBeGreaterThanOrEqual(4 * CLIENTS);
  expect(after.sockets).toBeLessThanOrEqual(before.sockets + SLACK);
  expect(after.timers).toBeLessThanOrEqual(before.timers + SLACK);
  expect(after.pendingTimers).toBeLessThanOrEqual(before.pendingTimers + SLACK);

  const points = await harness.metrics(
    (all) => (pointsOf(all, METRICS.operationDuration.name, { test_case: 'left' })[0]?.count ?? 0) >= CLIENTS,
  );
  const calls = pointsOf(points, METRICS.operationDuration.name, { test_case: 'left' });
  expect(calls.map((point) => [point.attributes[ATTR.errorType], point.count])).toEqual([['cancelled', CLIENTS]]);
  // The tokens seen before the client left: message_start's input count, once per call.
  const input = pointsOf(points, METRICS.tokenUsage.name, { test_case: 'left', [ATTR.tokenType]: 'input' });
  expect(input.map((point) => [point.count, point.sum])).toEqual([[CLIENTS, CLIENTS * INPUT_TOKENS]]);
}, 30_000);
