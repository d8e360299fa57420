/**
 * Framing at the edges of HTTP/1.1 (issue 22, item 9), over raw sockets on loopback: a request
 * whose Transfer-Encoding carries a coding other than a final `chunked` is refused with 501 and
 * nothing is forwarded (nginx's answer); an interim 1xx from the upstream before its final answer
 * is skipped and the final answer relayed; a 204/304 (or an answer to HEAD) that nonetheless
 * carries body bytes reaches the client as its status and headers, without a body, on a
 * connection the client can keep using. Calls are recorded with the final answer's status.
 */
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { METRICS } from '../../src/telemetry/names';
import { pointsOf, startHarness, type Harness } from '../helpers/harness';
import { poll, rawClient, sleep } from '../helpers/rawClient';

/**
 * A hostile upstream: for each complete request (head, then a Content-Length body if any) it
 * writes the next scripted bytes verbatim; with nothing scripted, a well-formed JSON 200.
 */
interface RawUpstream {
  url: string;
  /** Request heads as received, in order. */
  heads: string[];
  /** Connections accepted so far. */
  connections(): number;
  /** The answer to the next request: one write, or parts written 20 ms apart. */
  script(bytes: string | string[]): void;
  close(): Promise<void>;
}

const PLAIN_OK_BODY = '{"id":"x","model":"gpt-4o","usage":{"prompt_tokens":1,"completion_tokens":1}}';
const PLAIN_OK = `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${PLAIN_OK_BODY.length}\r\n\r\n${PLAIN_OK_BODY}`;

async function startRawUpstream(): Promise<RawUpstream> {
  const heads: string[] = [];
  const scripted: (string | string[])[] = [];
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = pending.subarray(0, end).toString('latin1');
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (pending.length < end + 4 + length) return;
        pending = pending.subarray(end + 4 + length);
        heads.push(head);
        const answer = scripted.shift() ?? PLAIN_OK;
        const parts = typeof answer === 'string' ? [answer] : answer;
        parts.forEach((part, index) => setTimeout(() => socket.write(part), index * 20));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    heads,
    connections: () => accepted,
    script: (bytes) => scripted.push(bytes),
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function chatRequest(testCase: string, extra: string[] = []): string {
  const body = '{"model":"gpt-4o","messages":[]}';
  return ['POST /openai/v1/chat/completions HTTP/1.1', 'Host: sidecar', 'Content-Type: application/json', `Content-Length: ${body.length}`, `X-Test-Case: ${testCase}`, ...extra, '', body].join('\r\n');
}

/** Status lines in `text` (the bodies in these tests never contain one). */
function statusLines(text: string): string[] {
  return text.match(/HTTP\/1\.1 \d{3}[^\r]*/g) ?? [];
}

let harness: Harness;
let upstream: RawUpstream;
beforeAll(async () => {
  upstream = await startRawUpstream();
  harness = await startHarness({ routes: ['openai'], flags: { upstream: [`openai=${upstream.url}`], headerAttribute: ['x-test-case=test_case'] } });
});
afterAll(async () => {
  await harness.close();
  await upstream.close();
});

async function recordedStatus(testCase: string): Promise<unknown> {
  const points = await harness.metrics((all) => pointsOf(all, METRICS.operationDuration.name, { test_case: testCase }).length > 0);
  return pointsOf(points, METRICS.operationDuration.name, { test_case: testCase })[0]?.attributes['http.response.status_code'];
}

describe('item 9a: a request Transfer-Encoding other than a final chunked is refused with 501', () => {
  test.each([
    ['gzip, chunked', ['Transfer-Encoding: gzip, chunked']],
    ['gzip and chunked as two fields', ['Transfer-Encoding: gzip', 'Transfer-Encoding: chunked']],
  ])('%s: 501, nothing forwarded, connection closed, logged', async (name, fields) => {
    const before = upstream.heads.length;
    const logBefore = harness.logLines.length;
    const client = await rawClient(harness.sidecar.url);
    const body = '{"model":"gpt-4o","messages":[]}';
    client.socket.write(
      ['POST /openai/v1/chat/completions HTTP/1.1', 'Host: x', 'Content-Type: application/json', ...fields, '', `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`].join('\r\n'),
    );
    await client.waitFor(/^HTTP\/1\.1 \d{3}/, 2000);
    const closed = await client.waitClosed(2000);
    client.socket.destroy();
    expect({ name, status: statusLines(client.text())[0], closed }).toEqual({ name, status: 'HTTP/1.1 501 Not Implemented', closed: true });
    expect(upstream.heads.length).toBe(before);
    const logged = harness.logLines.slice(logBefore).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged.some((line) => line.status === 501 && line.reason === 'unsupported_transfer_coding')).toBe(true);
  });

  test('a plain chunked body still goes through', async () => {
    const client = await rawClient(harness.sidecar.url);
    const body = '{"model":"gpt-4o","messages":[]}';
    client.socket.write(
      ['POST /openai/v1/chat/completions HTTP/1.1', 'Host: x', 'Content-Type: application/json', 'Transfer-Encoding: Chunked', 'Connection: close', '', `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`].join('\r\n'),
    );
    await client.waitClosed(2000);
    expect(statusLines(client.text())).toEqual(['HTTP/1.1 200 OK']);
  });
});

describe('item 9b: an interim 1xx from the upstream is skipped, the final answer relayed', () => {
  const interimThenFinal = async (name: string, interim: string): Promise<void> => {
    const testCase = `interim-${name.replace(/\W+/g, '-')}`;
    upstream.script(interim + PLAIN_OK);
    const client = await rawClient(harness.sidecar.url);
    client.socket.write(chatRequest(testCase));
    await poll(() => client.text().includes(PLAIN_OK_BODY) || client.closed(), 2000);
    // The connection stays usable: a second call on it is answered too.
    client.socket.write(chatRequest(`${testCase}-second`));
    await poll(() => client.text().split(PLAIN_OK_BODY).length - 1 >= 2 || client.closed(), 2000);
    client.socket.destroy();
    expect(statusLines(client.text()).filter((line) => !line.startsWith('HTTP/1.1 103'))).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
    expect(client.text().split(PLAIN_OK_BODY).length - 1).toBe(2);
    expect(await recordedStatus(testCase)).toBe(200);
  };

  test.each([['103 Early Hints', 'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n']])(
    '%s then 200: the client gets the 200 and its body, the call is recorded as 200',
    interimThenFinal,
  );

  test.each([
    ['100 Continue', 'HTTP/1.1 100 Continue\r\n\r\n'],
    ['two 100 Continue', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n'],
    ['100 with a field and no reason', 'HTTP/1.1 100\r\nX-Note: early\r\n\r\n'],
  ])('%s then 200: the client gets the 200 and its body, the call is recorded as 200', interimThenFinal);

  test('a 100 cut across TCP segments, on every call of a kept-alive upstream connection', async () => {
    const testCase = 'interim-split-reused';
    const connectionsBefore = upstream.connections();
    const split = ['HTTP/1.1 1', '00 Continue\r', '\n\r\nHTTP/1.1 2', `00 OK${PLAIN_OK.slice('HTTP/1.1 200 OK'.length)}`];
    upstream.script(split);
    upstream.script(split);
    const client = await rawClient(harness.sidecar.url);
    client.socket.write(chatRequest(testCase));
    await poll(() => client.text().includes(PLAIN_OK_BODY) || client.closed(), 2000);
    client.socket.write(chatRequest(testCase));
    await poll(() => client.text().split(PLAIN_OK_BODY).length - 1 >= 2 || client.closed(), 2000);
    client.socket.destroy();
    expect(statusLines(client.text())).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
    // Both calls went over one upstream connection, so the second 100 was dropped on a reused one.
    expect(upstream.connections() - connectionsBefore).toBeLessThanOrEqual(1);
  });

  test('an upstream that answers nothing but 100s gets a 502, not an endless read', async () => {
    upstream.script('HTTP/1.1 100 Continue\r\n\r\n'.repeat(40));
    const client = await rawClient(harness.sidecar.url);
    client.socket.write(chatRequest('interim-endless'));
    await client.waitFor(/^HTTP\/1\.1 \d{3}/, 2000);
    client.socket.destroy();
    expect(statusLines(client.text())[0]).toBe('HTTP/1.1 502 Bad Gateway');
  });
});

describe('item 9c: a 204/304 or an answer to HEAD with body bytes reaches the client without a body', () => {
  test.each([
    ['204 with Content-Length and a body', 'POST', 'HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello'],
    ['204 with a chunked body', 'POST', 'HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
    ['304 with Content-Length and a body', 'GET', 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nContent-Length: 5\r\n\r\nhello'],
    ['304 with a chunked body', 'GET', 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
    ['an answer to HEAD with its body', 'HEAD', 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\nhello'],
  ])('%s: status and headers, no body, and the connection keeps serving', async (name, method, answer) => {
    const testCase = `nobody-${name.replace(/\W+/g, '-')}`;
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
    upstream.script(answer);
    const client = await rawClient(harness.sidecar.url);
    const first = method === 'POST' ? chatRequest(testCase) : `${method} /openai/v1/models HTTP/1.1\r\nHost: x\r\nX-Test-Case: ${testCase}\r\n\r\n`;
    client.socket.write(first);
    await client.waitFor(/^HTTP\/1\.1 \d{3}[^]*\r\n\r\n/, 2000);
    await sleep(100);
    const firstAnswer = client.text();
    client.socket.write(chatRequest(`${testCase}-second`));
    await poll(() => client.text().endsWith(PLAIN_OK_BODY) || client.closed(), 2000);
    client.socket.destroy();
    // The first answer is a head only: nothing after its blank line until the next status line.
    expect(statusLines(firstAnswer)[0]).toBe(`HTTP/1.1 ${status} ${status === 200 ? 'OK' : status === 204 ? 'No Content' : 'Not Modified'}`);
    expect(firstAnswer.endsWith('\r\n\r\n')).toBe(true);
    expect(firstAnswer).not.toContain('hello');
    expect(firstAnswer).not.toMatch(/transfer-encoding/i);
    // RFC 9110 §8.6: no Content-Length on a 204.
    if (status === 204) expect(firstAnswer).not.toMatch(/content-length/i);
    expect(statusLines(client.text())).toEqual([statusLines(firstAnswer)[0], 'HTTP/1.1 200 OK']);
    expect(client.text().endsWith(PLAIN_OK_BODY)).toBe(true);
    expect(await recordedStatus(testCase)).toBe(status);
  });
});
