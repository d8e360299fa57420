/**
 * What the benchmark sends and what its fake provider answers: OpenAI chat completions, fixed
 * so every request costs the same. Pure.
 */
import { SENT_FIELD } from './sseEvents';

export const CHAT_PATH = '/v1/chat/completions';
/** Clients send a dummy key, as an SDK would; nothing checks it. */
export const REQUEST_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'application/json',
  authorization: 'Bearer sk-bench-not-a-real-key',
};
/** Header asking the Node fake provider for a JSON answer of about this many bytes. */
export const RESPONSE_BYTES_HEADER = 'x-bench-response-bytes';
/** Header asking the Node fake provider for a stream of one chunk event of about this many bytes, written in small pieces. */
export const BIG_EVENT_BYTES_HEADER = 'x-bench-stream-event-bytes';
/** Header asking the Node fake provider for a stream of this many chunks (fewer than STREAM_CHUNKS). */
export const STREAM_CHUNKS_HEADER = 'x-bench-stream-chunks';

export const STREAM_CHUNKS = 64;
export const STREAM_PACING_MS = 20;
/** How long one paced stream lasts. */
export const STREAM_DURATION_MS = STREAM_CHUNKS * STREAM_PACING_MS;

export const CHAT_REQUEST = JSON.stringify({
  model: 'gpt-4o-mini',
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Say something fixed.' },
  ],
  max_tokens: 32,
});

/** A streaming request as an SDK sends it: without stream_options, so the sidecar adds include_usage. */
export const STREAM_REQUEST = JSON.stringify({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'Count slowly.' }],
  stream: true,
});

/**
 * A streaming request with a long conversation (200 turns, about 200 KiB), as RAG and agent
 * traffic sends: whatever the sidecar does per byte of the request shows in the first byte.
 */
export const LONG_PROMPT_STREAM_REQUEST = JSON.stringify({
  model: 'gpt-4o-mini',
  messages: Array.from({ length: 200 }, (_, turn) => ({
    role: turn % 2 === 0 ? 'user' : 'assistant',
    content: `Turn ${turn}: ${'The quick brown fox jumps over the lazy dog; '.repeat(22)}`,
  })),
  stream: true,
});

const COMPLETION_TEXT = 'Benchmarks measure; they do not judge. This answer is fixed so every request costs the same.';

function completion(content: string): Record<string, unknown> {
  return {
    id: 'chatcmpl-bench0001',
    object: 'chat.completion',
    created: 1700000000,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: {
      prompt_tokens: 24,
      completion_tokens: 19,
      total_tokens: 43,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    },
    service_tier: 'default',
    system_fingerprint: 'fp_bench',
  };
}

/** The fixed chat.completion answer (about 560 bytes, with usage). Holds no `'` or `$`, so nginx can `return` it. */
export const CHAT_RESPONSE = JSON.stringify(completion(COMPLETION_TEXT));

/** Stands in a serialised answer where the filler goes. */
const FILL_MARKER = '\u0000FILL\u0000';

/** `text` before and after FILL_MARKER, found as JSON escaped it. */
function aroundFill(text: string): [string, string] {
  return text.split(JSON.stringify(FILL_MARKER).slice(1, -1)) as [string, string];
}

/**
 * A chat.completion of at least `bytes` bytes, as a head, a filler repeated `fillerCount` times
 * and a tail, so a server can write it piece by piece without holding it whole.
 */
export function largeResponseParts(bytes: number): { head: string; filler: string; fillerCount: number; tail: string } {
  const [head, tail] = aroundFill(JSON.stringify(completion(FILL_MARKER)));
  const filler = 'lorem ipsum dolor sit amet '.repeat(2427); // 65,529 bytes
  const fillerCount = Math.max(1, Math.ceil((bytes - head.length - tail.length) / filler.length));
  return { head, filler, fillerCount, tail };
}

/**
 * One chat.completion.chunk SSE event whose content holds at least `bytes` bytes (a long tool
 * call's arguments, an image as base64), as a head, a 1 KiB filler repeated `fillerCount` times
 * and a tail, so the fake can write it in pieces the size network reads often are.
 */
export function bigStreamEventParts(bytes: number, includeUsage: boolean): { head: string; filler: string; fillerCount: number; tail: string } {
  const chunk: Record<string, unknown> = {
    id: 'chatcmpl-bench0003',
    object: 'chat.completion.chunk',
    created: 1700000000,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, delta: { role: 'assistant', content: FILL_MARKER }, logprobs: null, finish_reason: 'stop' }],
  };
  if (includeUsage) chunk.usage = null;
  const [head, tail] = aroundFill(`data: ${JSON.stringify(chunk)}\n\n`);
  const filler = 'abcdefghijklmnop'.repeat(64); // 1,024 bytes
  return { head, filler, fillerCount: Math.max(1, Math.ceil(bytes / filler.length)), tail };
}

/** SSE event `index` (0..STREAM_CHUNKS-1) of the paced stream; the last one carries finish_reason. */
export function streamEvent(index: number, sentMs: number, includeUsage: boolean): string {
  const last = index === STREAM_CHUNKS - 1;
  const delta = index === 0 ? { role: 'assistant', content: '' } : { content: ` tok${index}` };
  const chunk: Record<string, unknown> = {
    id: 'chatcmpl-bench0002',
    object: 'chat.completion.chunk',
    created: 1700000000,
    model: 'gpt-4o-mini-2024-07-18',
    system_fingerprint: 'fp_bench',
    choices: [{ index: 0, delta: last ? {} : delta, logprobs: null, finish_reason: last ? 'stop' : null }],
    [SENT_FIELD]: sentMs,
  };
  // What the API does with include_usage: `"usage": null` on every chunk (the sidecar strips it).
  if (includeUsage) chunk.usage = null;
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

/** What follows the last content chunk at once: the usage chunk if asked for, then the terminator. */
export function streamTail(sentMs: number, includeUsage: boolean): string[] {
  const usage = {
    id: 'chatcmpl-bench0002',
    object: 'chat.completion.chunk',
    created: 1700000000,
    model: 'gpt-4o-mini-2024-07-18',
    system_fingerprint: 'fp_bench',
    choices: [],
    usage: { prompt_tokens: 12, completion_tokens: STREAM_CHUNKS - 1, total_tokens: 12 + STREAM_CHUNKS - 1 },
    [SENT_FIELD]: sentMs,
  };
  return [...(includeUsage ? [`data: ${JSON.stringify(usage)}\n\n`] : []), 'data: [DONE]\n\n'];
}

/** Events a client receives per stream: the content chunks and [DONE] (the usage chunk only if it asked). */
export const EVENTS_PER_STREAM = STREAM_CHUNKS + 1;
