/**
 * A fake provider (node:http on 127.0.0.1:0) that answers with streams recorded from the real
 * APIs (test/fixtures/corpus): an OpenAI tool-call stream and an Anthropic Messages stream, each
 * with its recorded headers, one SSE event per write. The correctness check sends the same call
 * straight here and through every contender, and compares what the client gets. It also keeps
 * what each request looked like when it arrived, to show what each contender sends upstream.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

/** A recorded exchange as test/fixtures/corpus stores it (the fields used here). */
export interface RecordedExchange {
  request: { path: string; headers: Record<string, string>; body: unknown };
  response: { status: number; headers: Record<string, string>; body_text: string };
}

export function loadExchange(root: string, file: string): RecordedExchange {
  return JSON.parse(readFileSync(path.join(root, 'test/fixtures/corpus', file), 'utf8')) as RecordedExchange;
}

/** What one request looked like when it reached the fake. */
export interface ArrivedRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface CorpusProvider {
  url: string;
  /** The last request that reached the fake, if any. */
  lastRequest(): ArrivedRequest | undefined;
  close(): Promise<void>;
}

/** Headers a server sets for its own connection, never the provider's to record. */
const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'date']);

/** SSE events of a recorded body, each with its blank-line terminator, so each can be its own write. */
export function sseWrites(body: string): string[] {
  return body.split(/(?<=\n\n)/).filter((piece) => piece.length > 0);
}

/**
 * Serves `anthropic` for any path ending in /messages and `openai` for any other POST: the tool-call
 * stream answers a chat completion whatever its body, so a peer that rewrites the body still gets it.
 */
export async function startCorpusProvider(exchanges: { openai: RecordedExchange; anthropic: RecordedExchange }): Promise<CorpusProvider> {
  let last: ArrivedRequest | undefined;
  const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => parts.push(chunk));
    req.on('end', () => {
      const url = req.url ?? '';
      last = { path: url, headers: req.headers, body: Buffer.concat(parts).toString('utf8') };
      if (req.method !== 'POST') {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"corpus fake: POST only"}}');
        return;
      }
      const exchange = url.split('?')[0]?.endsWith('/messages') ? exchanges.anthropic : exchanges.openai;
      const headers = Object.fromEntries(Object.entries(exchange.response.headers).filter(([name]) => !FRAMING_HEADERS.has(name.toLowerCase())));
      res.writeHead(exchange.response.status, headers);
      void writeEvents(res, sseWrites(exchange.response.body_text));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    lastRequest: () => last,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One write per event, each on its own event-loop turn, as events arrive from a provider. */
async function writeEvents(res: http.ServerResponse, writes: readonly string[]): Promise<void> {
  for (const piece of writes) {
    if (res.destroyed) return;
    res.write(piece);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  res.end();
}
