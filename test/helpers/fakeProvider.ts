/**
 * A local stand-in for an LLM provider on 127.0.0.1:0. It answers with whatever recorded or
 * scripted response the test queued, streaming bodies in the chunks given (with optional
 * pauses), and remembers every request it received.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedResponse {
  status: number;
  headers: Record<string, string>;
  /** Body pieces written one by one; each piece goes out as its own write. */
  chunks: Array<string | Buffer>;
  /** Milliseconds to wait before each chunk after the first. */
  pauseMs?: number;
  /** Cut the connection (no proper end) right after writing this many chunks. */
  resetAfterChunks?: number;
  /** Milliseconds before anything (even the status line) is sent. */
  headersDelayMs?: number;
  /** Milliseconds between sending the headers and the first chunk. */
  firstChunkDelayMs?: number;
  /** Called right after chunk `index` was written (lets tests observe timing). */
  onChunkWritten?: (index: number) => void;
}

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export type Responder = (request: ReceivedRequest) => ScriptedResponse;

export interface FakeProvider {
  url: string;
  port: number;
  received: ReceivedRequest[];
  /** Responses whose connection closed before the fake finished writing them. */
  aborted: number;
  /** Answer the next request with this response, or one built from the request (FIFO); without one, a 500 says so. */
  enqueue(response: ScriptedResponse | Responder): void;
  close(): Promise<void>;
}

export async function startFakeProvider(): Promise<FakeProvider> {
  const queue: Array<ScriptedResponse | Responder> = [];
  const received: ReceivedRequest[] = [];
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => parts.push(chunk));
    req.on('end', () => {
      const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(parts) };
      received.push(request);
      const next = queue.shift();
      const scripted = typeof next === 'function' ? next(request) : next;
      if (!scripted) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"error":{"message":"fake provider: no response queued"}}');
        return;
      }
      res.on('close', () => {
        if (!res.writableFinished) fake.aborted += 1;
      });
      void play(scripted, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const fake: FakeProvider = {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    aborted: 0,
    enqueue: (response) => queue.push(response),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}

async function play(scripted: ScriptedResponse, res: http.ServerResponse): Promise<void> {
  if (scripted.headersDelayMs) await sleep(scripted.headersDelayMs);
  if (res.destroyed) return;
  res.writeHead(scripted.status, scripted.headers);
  if (scripted.firstChunkDelayMs) {
    res.flushHeaders();
    await sleep(scripted.firstChunkDelayMs);
  }
  for (let index = 0; index < scripted.chunks.length; index += 1) {
    if (index > 0 && scripted.pauseMs) await sleep(scripted.pauseMs);
    if (res.destroyed) return;
    res.write(scripted.chunks[index]);
    scripted.onChunkWritten?.(index);
    if (scripted.resetAfterChunks === index + 1) {
      await sleep(20);
      res.socket?.destroy();
      return;
    }
  }
  res.end();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Split an SSE body into its events (each keeps its terminator) so they arrive as separate writes. */
export function splitSseEvents(body: string): string[] {
  const events = body.split(/(?<=\n\n)/);
  return events.filter((event) => event.length > 0);
}

/** Split an NDJSON body into lines (each keeps its newline). */
export function splitLines(body: string): string[] {
  return body.split(/(?<=\n)/).filter((line) => line.length > 0);
}
