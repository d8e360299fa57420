/**
 * The bench's stream client against the bench's own fake provider: what `make bench` reports as
 * the first byte of a kept-alive stream must come from a reused connection.
 */
import http from 'node:http';
import { runStreams } from '../../bench/clients/streams';
import { CHAT_PATH, EVENTS_PER_STREAM } from '../../bench/lib/payloads';
import { startFakeProvider, type FakeProvider } from '../../bench/servers/fakeProvider';
import type { StreamSample } from '../../bench/lib/streamStats';

let fake: FakeProvider;

beforeAll(async () => {
  fake = await startFakeProvider();
});

afterAll(async () => {
  await fake.close();
});

it('opens its connections in a first run and reuses them in the next one with the same agent', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
  try {
    const run = { url: `${fake.url}${CHAT_PATH}`, agent, total: 2, concurrency: 2, timeoutMs: 10_000 };
    const first = (await runStreams(run)) as StreamSample[];
    const second = (await runStreams(run)) as StreamSample[];
    expect(first.map((sample) => sample.events)).toEqual([EVENTS_PER_STREAM, EVENTS_PER_STREAM]);
    expect(first.map((sample) => sample.newConnection)).toEqual([true, true]);
    expect(second.map((sample) => sample.events)).toEqual([EVENTS_PER_STREAM, EVENTS_PER_STREAM]);
    expect(second.map((sample) => sample.newConnection)).toEqual([false, false]);
  } finally {
    agent.destroy();
  }
}, 20_000);
