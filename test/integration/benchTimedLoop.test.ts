/**
 * The bench's per-request timed 1-connection client against real sockets: the bench's own fake
 * provider, and servers that answer in ways it must not time.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chatRequestBytes, runTimedLoop } from '../../bench/clients/timedLoop';
import { CHAT_PATH, CHAT_REQUEST } from '../../bench/lib/payloads';
import { startFakeProvider, type FakeProvider } from '../../bench/servers/fakeProvider';

let fake: FakeProvider;

beforeAll(async () => {
  fake = await startFakeProvider();
});

afterAll(async () => {
  await fake.close();
});

async function withServer(handler: http.RequestListener, use: (url: string) => Promise<void>): Promise<void> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await use(`http://127.0.0.1:${(server.address() as AddressInfo).port}${CHAT_PATH}`);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

it('times every request on one kept-alive connection, up to its bound', async () => {
  const result = await runTimedLoop({ url: `${fake.url}${CHAT_PATH}`, durationMs: 5_000, maxRequests: 200, timeoutMs: 2_000 });
  expect(result.failures).toBe(0);
  expect(result.latenciesMs).toHaveLength(200);
  expect(Math.min(...result.latenciesMs)).toBeGreaterThan(0);
});

it('sends the same request wrk sends, with the body in full', async () => {
  let seen: { method?: string; url?: string; body: string; sockets: Set<unknown> } = { body: '', sockets: new Set() };
  await withServer(
    (req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (text: string) => (body += text));
      req.on('end', () => {
        seen = { method: req.method, url: req.url, body, sockets: seen.sockets.add(req.socket) };
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 }).end('{}');
      });
    },
    async (url) => {
      const result = await runTimedLoop({ url, durationMs: 5_000, maxRequests: 3, timeoutMs: 2_000 });
      expect(result.latenciesMs).toHaveLength(3);
    },
  );
  expect(seen).toMatchObject({ method: 'POST', url: CHAT_PATH, body: CHAT_REQUEST });
  expect(seen.sockets.size).toBe(1);
  expect(chatRequestBytes('http://127.0.0.1:1/x?y=1').toString('latin1')).toMatch(/^POST \/x\?y=1 HTTP\/1\.1\r\n/);
});

it('counts answers that are not 200', async () => {
  await withServer(
    (_req, res) => void res.writeHead(503, { 'content-length': 0 }).end(),
    async (url) => {
      const result = await runTimedLoop({ url, durationMs: 5_000, maxRequests: 4, timeoutMs: 2_000 });
      expect(result).toMatchObject({ failures: 4 });
    },
  );
});

it.each([
  ['a chunked answer', (res: http.ServerResponse) => void res.writeHead(200).end('{}'), /Content-Length/],
  ['no answer at all', () => undefined, /within 300 ms/],
])('fails clearly on %s instead of timing it', async (_name, answer, message) => {
  await withServer(
    (req, res) => {
      req.resume();
      req.on('end', () => answer(res));
    },
    async (url) => {
      await expect(runTimedLoop({ url, durationMs: 5_000, maxRequests: 4, timeoutMs: 300 })).rejects.toThrow(message);
    },
  );
});
