/**
 * A fake OpenAI API for the capacity bench (node:http on 127.0.0.1:0): chat completions
 * (streamed, with the usage chunk when asked, as the API does), legacy completions and
 * embeddings, each answering with the model it was asked for, the usage blocks and rate-limit
 * headers the API sends, and a 429 when the request carries FAIL_HEADER. What a sidecar records
 * from it is what it records from the real API: the same attributes, token kinds and gauges.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { whenBodyRead } from '../servers/requestBody';

/** A request with this header is answered 429 rate_limit_exceeded. */
export const FAIL_HEADER = 'x-capacity-fail';
const STREAM_CONTENT_CHUNKS = 4;
const MAX_REQUEST_BYTES = 64 * 1024;

/** The headers OpenAI sends on every answer (the sidecar reads them into the rate-limit gauges). */
const RATE_LIMIT_HEADERS: Readonly<Record<string, string>> = {
  'x-ratelimit-limit-requests': '10000',
  'x-ratelimit-remaining-requests': '9999',
  'x-ratelimit-reset-requests': '6ms',
  'x-ratelimit-limit-tokens': '2000000',
  'x-ratelimit-remaining-tokens': '1999950',
  'x-ratelimit-reset-tokens': '1ms',
};

const CHAT_USAGE = {
  prompt_tokens: 42,
  completion_tokens: 17,
  total_tokens: 59,
  prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
};

interface Request {
  model: string;
  stream: boolean;
  includeUsage: boolean;
}

function readRequest(body: string): Request {
  try {
    const parsed = JSON.parse(body) as { model?: unknown; stream?: unknown; stream_options?: { include_usage?: unknown } };
    return { model: typeof parsed.model === 'string' ? parsed.model : 'unknown', stream: parsed.stream === true, includeUsage: parsed.stream_options?.include_usage === true };
  } catch {
    return { model: 'unknown', stream: false, includeUsage: false };
  }
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...RATE_LIMIT_HEADERS, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

function streamChat(res: http.ServerResponse, request: Request): void {
  res.writeHead(200, { ...RATE_LIMIT_HEADERS, 'content-type': 'text/event-stream' });
  const chunk = (delta: Record<string, unknown>, finish: string | null, usage?: unknown): string =>
    `data: ${JSON.stringify({ id: 'chatcmpl-cap', object: 'chat.completion.chunk', created: 1700000000, model: request.model, choices: finish === 'usage' ? [] : [{ index: 0, delta, finish_reason: finish }], ...(usage === undefined ? {} : { usage }) })}\n\n`;
  const nullUsage = request.includeUsage ? null : undefined;
  for (let index = 0; index < STREAM_CONTENT_CHUNKS; index += 1) res.write(chunk({ content: ` part${index}` }, null, nullUsage));
  res.write(chunk({}, 'stop', nullUsage));
  if (request.includeUsage) res.write(chunk({}, 'usage', CHAT_USAGE));
  res.end('data: [DONE]\n\n');
}

function answer(path: string, request: Request, res: http.ServerResponse): void {
  if (path.endsWith('/chat/completions')) {
    if (request.stream) return streamChat(res, request);
    return json(res, 200, { id: 'chatcmpl-cap', object: 'chat.completion', created: 1700000000, model: request.model, choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: CHAT_USAGE });
  }
  if (path.endsWith('/completions')) {
    return json(res, 200, { id: 'cmpl-cap', object: 'text_completion', created: 1700000000, model: request.model, choices: [{ index: 0, text: 'ok', finish_reason: 'stop' }], usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 } });
  }
  if (path.endsWith('/embeddings')) {
    return json(res, 200, { object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.01, -0.02, 0.03] }], model: request.model, usage: { prompt_tokens: 8, total_tokens: 8 } });
  }
  json(res, 404, { error: { message: 'fake OpenAI: unknown path', type: 'invalid_request_error', code: null } });
}

export interface FakeOpenAi {
  url: string;
  /** Requests answered, by status. */
  answered(): Record<number, number>;
  close(): Promise<void>;
}

export async function startFakeOpenAi(): Promise<FakeOpenAi> {
  const answered: Record<number, number> = {};
  const server = http.createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    whenBodyRead(req, MAX_REQUEST_BYTES, (body) => {
      res.once('finish', () => (answered[res.statusCode] = (answered[res.statusCode] ?? 0) + 1));
      const path = (req.url ?? '').split('?')[0] ?? '';
      if (req.method !== 'POST') return json(res, 405, { error: { message: 'fake OpenAI: POST only', type: 'invalid_request_error', code: null } });
      if (req.headers[FAIL_HEADER] !== undefined) return json(res, 429, { error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' } });
      answer(path, readRequest(body), res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    answered: () => ({ ...answered }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
