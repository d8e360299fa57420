/**
 * The Node fake provider (node:http on 127.0.0.1:0): paced SSE streams, large answers, streams
 * of one big event written in 1 KiB pieces and, for the soak, the plain answer too. The
 * plain-JSON throughput runs use nginx as the origin instead
 * (see originNginx in ./nginx.ts): it costs far less CPU per answer, so on a 2-core machine the
 * origin takes less from the proxy being measured, and "direct" is a harder floor.
 *
 * Streams are paced against absolute times (start + i * pacing), so a late timer does not push
 * every later chunk back, and each chunk carries the time it was written (SENT_FIELD).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BIG_EVENT_BYTES_HEADER,
  bigStreamEventParts,
  CHAT_RESPONSE,
  largeResponseParts,
  RESPONSE_BYTES_HEADER,
  STREAM_CHUNKS,
  STREAM_CHUNKS_HEADER,
  STREAM_PACING_MS,
  streamEvent,
  streamTail,
} from '../lib/payloads';
import { whenBodyRead } from './requestBody';

/** The largest answer the fake will produce, so a typo cannot ask for gigabytes. */
const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;
const MAX_REQUEST_BYTES = 1024 * 1024;
/** Below the sidecar's 4 MiB limit for one event, which it would otherwise pass on unread. */
const MAX_BIG_EVENT_BYTES = 3 * 1024 * 1024;

/** Chunks asked for with STREAM_CHUNKS_HEADER, within 1..STREAM_CHUNKS; the full count otherwise. */
function streamChunks(asked: string | string[] | undefined): number {
  const count = Number(asked);
  return Number.isInteger(count) && count >= 1 && count <= STREAM_CHUNKS ? count : STREAM_CHUNKS;
}

export interface FakeProvider {
  url: string;
  /** Streams whose client went away before the end. */
  abortedStreams(): number;
  close(): Promise<void>;
}

interface ChatRequest {
  stream: boolean;
  includeUsage: boolean;
}

function readChatRequest(body: string): ChatRequest {
  try {
    const parsed = JSON.parse(body) as { stream?: unknown; stream_options?: { include_usage?: unknown } };
    return { stream: parsed.stream === true, includeUsage: parsed.stream_options?.include_usage === true };
  } catch {
    return { stream: false, includeUsage: false };
  }
}

export async function startFakeProvider(): Promise<FakeProvider> {
  let aborted = 0;
  const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    if (req.method !== 'POST' || !(req.url ?? '').endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"fake provider: unknown path"}}');
      return;
    }
    whenBodyRead(req, MAX_REQUEST_BYTES, (body) => {
      const request = readChatRequest(body);
      const askedBytes = Number(req.headers[RESPONSE_BYTES_HEADER]);
      const eventBytes = Number(req.headers[BIG_EVENT_BYTES_HEADER]);
      if (Number.isFinite(askedBytes) && askedBytes > 0) {
        void writeLarge(res, Math.min(askedBytes, MAX_RESPONSE_BYTES));
      } else if (request.stream && Number.isFinite(eventBytes) && eventBytes > 0) {
        void writeBigEvent(res, Math.min(eventBytes, MAX_BIG_EVENT_BYTES), request.includeUsage);
      } else if (request.stream) {
        res.on('close', () => {
          if (!res.writableFinished) aborted += 1;
        });
        void writePacedStream(res, request.includeUsage, streamChunks(req.headers[STREAM_CHUNKS_HEADER]));
      } else {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(CHAT_RESPONSE) });
        res.end(CHAT_RESPONSE);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    abortedStreams: () => aborted,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function sleepUntil(when: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, when - performance.now())));
}

async function writePacedStream(res: http.ServerResponse, includeUsage: boolean, chunks: number): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  const start = performance.now();
  for (let index = 0; index < chunks; index += 1) {
    if (index > 0) await sleepUntil(start + index * STREAM_PACING_MS);
    if (res.destroyed) return;
    res.write(streamEvent(index, performance.now(), includeUsage));
  }
  for (const event of streamTail(performance.now(), includeUsage)) res.write(event);
  res.end();
}

/** Writes a large answer in 64 KiB pieces, waiting for 'drain', so the fake never holds it whole. */
async function writeLarge(res: http.ServerResponse, bytes: number): Promise<void> {
  const { head, filler, fillerCount, tail } = largeResponseParts(bytes);
  const length = Buffer.byteLength(head) + Buffer.byteLength(filler) * fillerCount + Buffer.byteLength(tail);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': length });
  const pieces = (function* () {
    yield head;
    for (let index = 0; index < fillerCount; index += 1) yield filler;
    yield tail;
  })();
  for (const piece of pieces) {
    if (res.destroyed) return;
    if (!res.write(piece)) await drainedOrClosed(res);
  }
  res.end();
}

/**
 * One event of about `bytes` bytes, then the usage chunk (if asked for) and [DONE]. Each 1 KiB
 * piece is its own write on its own event-loop turn, so a reader receives many small chunks of one
 * event, as from a provider streaming a long tool call or an image: what a proxy does per chunk of
 * an unfinished event shows here.
 */
async function writeBigEvent(res: http.ServerResponse, bytes: number, includeUsage: boolean): Promise<void> {
  const { head, filler, fillerCount, tail } = bigStreamEventParts(bytes, includeUsage);
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  res.write(head);
  for (let index = 0; index < fillerCount; index += 1) {
    if (res.destroyed) return;
    if (!res.write(filler)) await drainedOrClosed(res);
    else await new Promise<void>((resolve) => setImmediate(resolve));
  }
  res.write(tail);
  for (const event of streamTail(performance.now(), includeUsage)) res.write(event);
  res.end();
}

function drainedOrClosed(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done).off('close', done);
      resolve();
    };
    res.on('drain', done).on('close', done);
  });
}
