/**
 * Single requests outside wrk: a plain chat completion (soak), a large answer (memory test) or a
 * stream of one big event.
 * Each reads the whole answer, counts its bytes and is bounded in time.
 */
import http from 'node:http';
import { BIG_EVENT_BYTES_HEADER, CHAT_REQUEST, REQUEST_HEADERS, RESPONSE_BYTES_HEADER, STREAM_REQUEST } from '../lib/payloads';

export interface Answer {
  status: number;
  bytes: number;
  ms: number;
}

export function postChat(url: string, agent: http.Agent, timeoutMs: number, extraHeaders: Readonly<Record<string, string>> = {}, body = CHAT_REQUEST): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const request = http.request(
      url,
      { method: 'POST', agent, headers: { ...REQUEST_HEADERS, ...extraHeaders, 'content-length': Buffer.byteLength(body) } },
      (response) => {
        let bytes = 0;
        response.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
        });
        response.on('end', () => {
          clearTimeout(limit);
          resolve({ status: response.statusCode ?? 0, bytes, ms: performance.now() - started });
        });
        response.on('error', reject);
      },
    );
    const limit = setTimeout(() => request.destroy(new Error(`no complete answer within ${timeoutMs} ms`)), timeoutMs);
    request.on('error', (error) => {
      clearTimeout(limit);
      reject(error);
    });
    request.end(body);
  });
}

/** Asks the Node fake provider (through whatever is at `url`) for an answer of `bytes` bytes. */
export function postLarge(url: string, agent: http.Agent, bytes: number, timeoutMs: number): Promise<Answer> {
  return postChat(url, agent, timeoutMs, { [RESPONSE_BYTES_HEADER]: String(bytes) });
}

/** A streaming request whose answer is one event of about `bytes` bytes arriving in 1 KiB pieces. */
export function postBigEvent(url: string, agent: http.Agent, bytes: number, timeoutMs: number): Promise<Answer> {
  return postChat(url, agent, timeoutMs, { [BIG_EVENT_BYTES_HEADER]: String(bytes) }, STREAM_REQUEST);
}
