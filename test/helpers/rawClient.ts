/**
 * A raw HTTP/1.1 client connection on loopback, for tests that must send exact bytes (stalls,
 * pipelining, malformed framing) and read exactly what came back.
 */
import net from 'node:net';

/** What the connection received, and when the other side closed it. */
export interface RawClient {
  socket: net.Socket;
  text(): string;
  closed(): boolean;
  /** Resolves true once `pattern` matches what was received, false if it still does not after `ms`. */
  waitFor(pattern: RegExp, ms: number): Promise<boolean>;
  /** Resolves true once closed, false if still open after `ms`. */
  waitClosed(ms: number): Promise<boolean>;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `done` every 10 ms until it holds or `ms` pass; returns its last answer. */
export async function poll(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await sleep(10);
  return done();
}

export function rawClient(base: string): Promise<RawClient> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    let text = '';
    let isClosed = false;
    const socket = net.connect(Number(url.port), url.hostname);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('close', () => (isClosed = true));
    socket.on('error', () => undefined);
    socket.once('connect', () =>
      resolve({
        socket,
        text: () => text,
        closed: () => isClosed,
        waitFor: (pattern, ms) => poll(() => pattern.test(text), ms),
        waitClosed: (ms) => poll(() => isClosed, ms),
      }),
    );
    socket.once('error', reject);
  });
}
