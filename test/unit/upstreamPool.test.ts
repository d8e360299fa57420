/**
 * The upstream pool is built once, lazily: by `warm()` shortly after start-up or by the first
 * call, whichever comes first; destroying a pool never built is fine. Deadline errors are told
 * apart from connection errors (504 vs 502).
 */
import type { Dispatcher } from 'undici';
import { classifyUpstreamError, createUpstreamPool } from '../../src/proxy/upstreamPool';

const TIMEOUTS = { connectMs: 1_000, firstByteMs: 1_000, idleMs: 1_000 };

// A stand-in for undici's Agent that counts constructions and calls. (Connection reuse by the real
// pool is checked end to end in test/integration/httpsUpstream.test.ts.)
const mockCounts = { built: 0, dispatched: 0 };
jest.mock('undici/lib/dispatcher/agent.js', () =>
  class {
    constructor() {
      mockCounts.built += 1;
    }
    dispatch(): boolean {
      mockCounts.dispatched += 1;
      return true;
    }
  },
);

const noHandler = {} as Dispatcher.DispatchHandler;
const someRequest: Dispatcher.DispatchOptions = { origin: 'http://127.0.0.1:1', method: 'GET', path: '/' };

beforeEach(() => {
  mockCounts.built = 0;
  mockCounts.dispatched = 0;
});

test('a call first: the pool is built by the call, once', () => {
  const pool = createUpstreamPool(TIMEOUTS);
  expect(mockCounts.built).toBe(0);
  pool.dispatch(someRequest, noHandler);
  pool.warm();
  pool.dispatch(someRequest, noHandler);
  expect(mockCounts).toEqual({ built: 1, dispatched: 2 });
});

test('warm() first: built by warm(), once, and used by the calls', () => {
  const pool = createUpstreamPool(TIMEOUTS);
  pool.warm();
  pool.warm();
  expect(mockCounts).toEqual({ built: 1, dispatched: 0 });
  pool.dispatch(someRequest, noHandler);
  expect(mockCounts).toEqual({ built: 1, dispatched: 1 });
});

test('destroying a pool that was never built resolves, and a late warm() then builds nothing', async () => {
  const pool = createUpstreamPool(TIMEOUTS);
  await expect(pool.destroy()).resolves.toBeUndefined();
  pool.warm();
  expect(mockCounts.built).toBe(0);
});

test.each([
  ['UND_ERR_CONNECT_TIMEOUT', true],
  ['UND_ERR_HEADERS_TIMEOUT', true],
  ['UND_ERR_BODY_TIMEOUT', true],
  ['ECONNREFUSED', false],
  ['ECONNRESET', false],
  ['UND_ERR_SOCKET', false],
])('%s: timed out = %s', (code, timedOut) => {
  const error = Object.assign(new Error('x'), { code });
  expect(classifyUpstreamError(error)).toEqual({ timedOut, code });
});
