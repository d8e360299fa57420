/**
 * A fake LLM provider for the demo stack: the sidecar's `openai` and `anthropic` routes point
 * here, so the dashboards fill with realistic metrics without API keys or cost.
 *
 * It speaks just enough of each API for the sidecar to measure it like the real thing:
 * - OpenAI `POST /v1/chat/completions` (JSON, or SSE when `stream` is set; the usage chunk only
 *   when `stream_options.include_usage` asks for it) and `POST /v1/embeddings`;
 * - Anthropic `POST /v1/messages` (JSON or SSE with `message_start` / `message_delta` usage);
 * - rate-limit headers (`x-ratelimit-*`, `anthropic-ratelimit-*`) from a per-minute window;
 * - cached input tokens (gpt-4o, Claude) and reasoning tokens (o3-mini);
 * - now and then a 429 or a 500/529 with each provider's error body.
 *
 * Run: `node dist/demo/fakeProvider.js` (listens on FAKE_PROVIDER_LISTEN, default 0.0.0.0:9000).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { between, seededRandom, type Random } from './random';

export interface FakeProviderOptions {
  random?: Random;
  /** Share of calls answered 429 (on top of an exhausted window). Default 0.04. */
  rateLimitedShare?: number;
  /** Share of calls answered 500 (OpenAI) or 529 (Anthropic). Default 0.02. */
  serverErrorShare?: number;
  /** Multiplies every simulated delay; 0 answers at once (tests). Default 1. */
  latencyScale?: number;
  /** Clock, for the rate-limit windows. */
  now?: () => number;
}

/** What to send back: one body, or SSE events written one by one with a pause between. */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string | string[];
  /** Milliseconds before the status line (time to first byte). */
  firstByteMs: number;
  /** Milliseconds between streamed events. */
  chunkGapMs: number;
}

export interface ProviderContext {
  random: Random;
  now: () => number;
  latencyScale: number;
  rateLimitedShare: number;
  serverErrorShare: number;
  windows: { openai: RateWindow; anthropic: RateWindow };
  nextId: () => number;
}

interface ModelProfile {
  /** What the response reports as `model` (providers answer with a dated snapshot). */
  responseModel: string;
  /** Share of the prompt served from the provider's prompt cache. */
  cachedShare: number;
  /** Hidden reasoning tokens as a multiple of the visible output. */
  reasoningFactor: number;
  /** Output tokens per second while streaming. */
  tokensPerSecond: number;
}

const OPENAI_MODELS: Record<string, ModelProfile> = {
  'gpt-4o-mini': { responseModel: 'gpt-4o-mini-2024-07-18', cachedShare: 0, reasoningFactor: 0, tokensPerSecond: 120 },
  'gpt-4o': { responseModel: 'gpt-4o-2024-08-06', cachedShare: 0.5, reasoningFactor: 0, tokensPerSecond: 80 },
  'o3-mini': { responseModel: 'o3-mini-2025-01-31', cachedShare: 0.25, reasoningFactor: 3, tokensPerSecond: 150 },
};

const ANTHROPIC_MODELS: Record<string, ModelProfile> = {
  'claude-3-5-haiku-latest': { responseModel: 'claude-3-5-haiku-20241022', cachedShare: 0, reasoningFactor: 0, tokensPerSecond: 110 },
  'claude-sonnet-4-20250514': { responseModel: 'claude-sonnet-4-20250514', cachedShare: 0.6, reasoningFactor: 0, tokensPerSecond: 70 },
};

const DEFAULT_PROFILE: ModelProfile = { responseModel: '', cachedShare: 0, reasoningFactor: 0, tokensPerSecond: 100 };

const WORDS = ['the', 'sidecar', 'measures', 'every', 'call', 'tokens', 'flow', 'through', 'unchanged', 'while', 'metrics', 'leave', 'on', 'the', 'side'];

/** A fixed-size request/token budget that refills every minute, like the providers' limits. */
export class RateWindow {
  private windowStart: number;
  private requestsLeft: number;
  private tokensLeft: number;

  constructor(
    readonly requestLimit: number,
    readonly tokenLimit: number,
    private readonly now: () => number,
    private readonly windowMs = 60_000,
  ) {
    this.windowStart = now();
    this.requestsLeft = requestLimit;
    this.tokensLeft = tokenLimit;
  }

  /** Takes one request and `tokens` from the window; false when the window is exhausted. */
  take(tokens: number): boolean {
    this.roll();
    if (this.requestsLeft <= 0 || this.tokensLeft < tokens) return false;
    this.requestsLeft -= 1;
    this.tokensLeft -= tokens;
    return true;
  }

  state(): { requestsLeft: number; tokensLeft: number; resetSeconds: number } {
    this.roll();
    const resetSeconds = Math.max(0, (this.windowStart + this.windowMs - this.now()) / 1000);
    return { requestsLeft: this.requestsLeft, tokensLeft: this.tokensLeft, resetSeconds };
  }

  private roll(): void {
    if (this.now() - this.windowStart < this.windowMs) return;
    this.windowStart = this.now();
    this.requestsLeft = this.requestLimit;
    this.tokensLeft = this.tokenLimit;
  }
}

/** Go-style duration, as OpenAI writes `x-ratelimit-reset-*` ('6m0s', '850ms'). */
function goDuration(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  const minutes = Math.floor(seconds / 60);
  const rest = (seconds % 60).toFixed(3).replace(/\.?0+$/, '');
  return minutes > 0 ? `${minutes}m${rest}s` : `${rest}s`;
}

function openAiLimitHeaders(window: RateWindow): Record<string, string> {
  const state = window.state();
  return {
    'x-ratelimit-limit-requests': String(window.requestLimit),
    'x-ratelimit-remaining-requests': String(state.requestsLeft),
    'x-ratelimit-reset-requests': goDuration(state.resetSeconds),
    'x-ratelimit-limit-tokens': String(window.tokenLimit),
    'x-ratelimit-remaining-tokens': String(state.tokensLeft),
    'x-ratelimit-reset-tokens': goDuration(state.resetSeconds),
  };
}

function anthropicLimitHeaders(window: RateWindow, now: number): Record<string, string> {
  const state = window.state();
  const reset = new Date(now + state.resetSeconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    'anthropic-ratelimit-requests-limit': String(window.requestLimit),
    'anthropic-ratelimit-requests-remaining': String(state.requestsLeft),
    'anthropic-ratelimit-requests-reset': reset,
    'anthropic-ratelimit-tokens-limit': String(window.tokenLimit),
    'anthropic-ratelimit-tokens-remaining': String(state.tokensLeft),
    'anthropic-ratelimit-tokens-reset': reset,
  };
}

/** Roughly four characters per token, like the real tokenizers on English text. */
function promptTokens(body: Record<string, unknown>): number {
  const text = JSON.stringify(body.messages ?? body.input ?? body.prompt ?? '');
  return Math.max(8, Math.ceil(text.length / 4));
}

function words(random: Random, count: number): string[] {
  return Array.from({ length: count }, () => WORDS[between(random, 0, WORDS.length - 1)] ?? 'token');
}

function maxTokens(body: Record<string, unknown>, fallback: number): number {
  const value = body.max_completion_tokens ?? body.max_tokens;
  return typeof value === 'number' && value > 0 ? value : fallback;
}

interface Usage {
  input: number;
  cached: number;
  output: number;
  reasoning: number;
}

function usageFor(ctx: ProviderContext, body: Record<string, unknown>, profile: ModelProfile): Usage {
  const input = promptTokens(body) + between(ctx.random, 0, 400);
  const cached = profile.cachedShare > 0 && ctx.random() < 0.7 ? Math.floor(input * profile.cachedShare) : 0;
  const output = Math.min(maxTokens(body, 1024), between(ctx.random, 12, 480));
  return { input, cached, output, reasoning: Math.round(output * profile.reasoningFactor) };
}

function timing(ctx: ProviderContext, profile: ModelProfile, events: number, outputTokens: number): Pick<Reply, 'firstByteMs' | 'chunkGapMs'> {
  const firstByteMs = between(ctx.random, 120, 900) * ctx.latencyScale;
  const generationMs = (outputTokens / profile.tokensPerSecond) * 1000 * ctx.latencyScale;
  return { firstByteMs, chunkGapMs: events > 1 ? generationMs / events : 0 };
}

const json = (value: unknown): string => JSON.stringify(value);
const sse = (data: unknown, event?: string): string => `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : json(data)}\n\n`;

/** Split text into about `parts` pieces for streaming. */
function pieces(text: string[], parts: number): string[] {
  const size = Math.max(1, Math.ceil(text.length / parts));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(`${i === 0 ? '' : ' '}${text.slice(i, i + size).join(' ')}`);
  return out;
}

function openAiError(status: number, window: RateWindow): Reply {
  const rateLimited = status === 429;
  const error = rateLimited
    ? { message: 'Rate limit reached for requests (demo).', type: 'requests', param: null, code: 'rate_limit_exceeded' }
    : { message: 'The server had an error while processing your request (demo).', type: 'server_error', param: null, code: null };
  const headers: Record<string, string> = { 'content-type': 'application/json', ...openAiLimitHeaders(window) };
  if (rateLimited) headers['retry-after'] = '1';
  return { status, headers, body: json({ error }), firstByteMs: 40, chunkGapMs: 0 };
}

function anthropicError(status: number, window: RateWindow, now: number): Reply {
  const type = status === 429 ? 'rate_limit_error' : 'overloaded_error';
  const headers: Record<string, string> = { 'content-type': 'application/json', ...anthropicLimitHeaders(window, now) };
  if (status === 429) headers['retry-after'] = '1';
  return { status, headers, body: json({ type: 'error', error: { type, message: `${type} (demo)` } }), firstByteMs: 40, chunkGapMs: 0 };
}

/** Decides whether this call fails, before any tokens are spent. */
function failure(ctx: ProviderContext, window: RateWindow, tokens: number, serverErrorStatus: number): number | undefined {
  if (ctx.random() < ctx.serverErrorShare) return serverErrorStatus;
  if (ctx.random() < ctx.rateLimitedShare || !window.take(tokens)) return 429;
  return undefined;
}

export function openAiChat(ctx: ProviderContext, body: Record<string, unknown>): Reply {
  const model = typeof body.model === 'string' ? body.model : 'gpt-4o-mini';
  const profile = OPENAI_MODELS[model] ?? { ...DEFAULT_PROFILE, responseModel: model };
  const usage = usageFor(ctx, body, profile);
  const failed = failure(ctx, ctx.windows.openai, usage.input + usage.output, 500);
  if (failed !== undefined) return openAiError(failed, ctx.windows.openai);

  const id = `chatcmpl-demo${ctx.nextId()}`;
  const created = Math.floor(ctx.now() / 1000);
  const text = words(ctx.random, Math.max(3, Math.round(usage.output / 1.3)));
  const usageBlock = {
    prompt_tokens: usage.input,
    completion_tokens: usage.output + usage.reasoning,
    total_tokens: usage.input + usage.output + usage.reasoning,
    prompt_tokens_details: { cached_tokens: usage.cached, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: usage.reasoning, audio_tokens: 0 },
  };
  const headers = { ...openAiLimitHeaders(ctx.windows.openai), 'openai-processing-ms': String(between(ctx.random, 80, 900)) };

  if (body.stream !== true) {
    const completion = {
      id,
      object: 'chat.completion',
      created,
      model: profile.responseModel,
      system_fingerprint: 'fp_demo',
      choices: [{ index: 0, message: { role: 'assistant', content: text.join(' '), refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: usageBlock,
    };
    return { status: 200, headers: { ...headers, 'content-type': 'application/json' }, body: json(completion), ...timing(ctx, profile, 1, usage.output) };
  }

  const streamOptions = body.stream_options as { include_usage?: unknown } | undefined;
  const includeUsage = streamOptions?.include_usage === true;
  const chunk = (delta: Record<string, unknown>, finishReason: string | null): Record<string, unknown> => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model: profile.responseModel,
    system_fingerprint: 'fp_demo',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(includeUsage ? { usage: null } : {}),
  });
  const events = [sse(chunk({ role: 'assistant', content: '', refusal: null }, null))];
  for (const piece of pieces(text, 12)) events.push(sse(chunk({ content: piece }, null)));
  events.push(sse(chunk({}, 'stop')));
  if (includeUsage) {
    events.push(sse({ id, object: 'chat.completion.chunk', created, model: profile.responseModel, system_fingerprint: 'fp_demo', choices: [], usage: usageBlock }));
  }
  events.push(sse('[DONE]'));
  return { status: 200, headers: { ...headers, 'content-type': 'text/event-stream; charset=utf-8' }, body: events, ...timing(ctx, profile, events.length, usage.output) };
}

export function openAiEmbeddings(ctx: ProviderContext, body: Record<string, unknown>): Reply {
  const model = typeof body.model === 'string' ? body.model : 'text-embedding-3-small';
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const tokens = promptTokens(body);
  const failed = failure(ctx, ctx.windows.openai, tokens, 500);
  if (failed !== undefined) return openAiError(failed, ctx.windows.openai);
  const data = inputs.map((_input, index) => ({
    object: 'embedding',
    index,
    embedding: Array.from({ length: 8 }, () => Number((ctx.random() * 2 - 1).toFixed(6))),
  }));
  return {
    status: 200,
    headers: { ...openAiLimitHeaders(ctx.windows.openai), 'content-type': 'application/json' },
    body: json({ object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } }),
    firstByteMs: between(ctx.random, 30, 200) * ctx.latencyScale,
    chunkGapMs: 0,
  };
}

export function anthropicMessages(ctx: ProviderContext, body: Record<string, unknown>): Reply {
  const model = typeof body.model === 'string' ? body.model : 'claude-3-5-haiku-latest';
  const profile = ANTHROPIC_MODELS[model] ?? { ...DEFAULT_PROFILE, responseModel: model };
  const usage = usageFor(ctx, body, profile);
  const now = ctx.now();
  const failed = failure(ctx, ctx.windows.anthropic, usage.input + usage.output, 529);
  if (failed !== undefined) return anthropicError(failed, ctx.windows.anthropic, now);

  // Anthropic's input_tokens EXCLUDE cache reads and writes; the sidecar adds them back.
  const cacheWrite = profile.cachedShare > 0 && usage.cached === 0 ? Math.floor(usage.input * profile.cachedShare) : 0;
  const usageBlock = {
    input_tokens: usage.input - usage.cached - cacheWrite,
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: usage.cached,
    output_tokens: usage.output,
  };
  const id = `msg_demo${ctx.nextId()}`;
  const text = words(ctx.random, Math.max(3, Math.round(usage.output / 1.3)));
  const headers = { ...anthropicLimitHeaders(ctx.windows.anthropic, now), 'request-id': `req_demo${id}` };

  if (body.stream !== true) {
    const message = {
      id,
      type: 'message',
      role: 'assistant',
      model: profile.responseModel,
      content: [{ type: 'text', text: text.join(' ') }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: usageBlock,
    };
    return { status: 200, headers: { ...headers, 'content-type': 'application/json' }, body: json(message), ...timing(ctx, profile, 1, usage.output) };
  }

  const events = [
    sse(
      {
        type: 'message_start',
        message: {
          id,
          type: 'message',
          role: 'assistant',
          model: profile.responseModel,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { ...usageBlock, output_tokens: 1 },
        },
      },
      'message_start',
    ),
    sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start'),
    sse({ type: 'ping' }, 'ping'),
  ];
  for (const piece of pieces(text, 12)) {
    events.push(sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: piece } }, 'content_block_delta'));
  }
  events.push(
    sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop'),
    sse({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: usage.output } }, 'message_delta'),
    sse({ type: 'message_stop' }, 'message_stop'),
  );
  return { status: 200, headers: { ...headers, 'content-type': 'text/event-stream; charset=utf-8' }, body: events, ...timing(ctx, profile, events.length, usage.output) };
}

type Handler = (ctx: ProviderContext, body: Record<string, unknown>) => Reply;

/** Endpoint table: the sidecar strips the route, so these are the providers' own paths. */
const HANDLERS: Record<string, Handler> = {
  'POST /v1/chat/completions': openAiChat,
  'POST /v1/embeddings': openAiEmbeddings,
  'POST /v1/messages': anthropicMessages,
};

function notFound(method: string, path: string): Reply {
  return {
    status: 404,
    headers: { 'content-type': 'application/json' },
    body: json({ error: { message: `fake provider: no ${method} ${path} (try ${Object.keys(HANDLERS).join(', ')})`, type: 'invalid_request_error' } }),
    firstByteMs: 0,
    chunkGapMs: 0,
  };
}

function badRequest(message: string): Reply {
  return { status: 400, headers: { 'content-type': 'application/json' }, body: json({ error: { message, type: 'invalid_request_error' } }), firstByteMs: 0, chunkGapMs: 0 };
}

/** Pure routing: request line and body text in, reply out. */
export function replyTo(ctx: ProviderContext, method: string, url: string, bodyText: string): Reply {
  const path = new URL(url, 'http://fake').pathname;
  const handler = HANDLERS[`${method} ${path}`];
  if (!handler) return notFound(method, path);
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    return badRequest('body is not JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return badRequest('body must be a JSON object');
  return handler(ctx, body as Record<string, unknown>);
}

export function createContext(options: FakeProviderOptions = {}): ProviderContext {
  const now = options.now ?? Date.now;
  let id = 0;
  return {
    random: options.random ?? seededRandom(Date.now()),
    now,
    latencyScale: options.latencyScale ?? 1,
    rateLimitedShare: options.rateLimitedShare ?? 0.04,
    serverErrorShare: options.serverErrorShare ?? 0.02,
    windows: { openai: new RateWindow(500, 400_000, now), anthropic: new RateWindow(300, 300_000, now) },
    nextId: () => (id += 1),
  };
}

const MAX_BODY_BYTES = 1 << 20;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function send(res: http.ServerResponse, reply: Reply): Promise<void> {
  if (reply.firstByteMs > 0) await sleep(reply.firstByteMs);
  // Node has no reason phrase for Anthropic's 529.
  res.writeHead(reply.status, http.STATUS_CODES[reply.status] ?? (reply.status === 529 ? 'Overloaded' : 'Unknown'), reply.headers);
  if (typeof reply.body === 'string') {
    res.end(reply.body);
    return;
  }
  for (const [index, event] of reply.body.entries()) {
    if (res.destroyed) return;
    if (index > 0 && reply.chunkGapMs > 0) await sleep(reply.chunkGapMs);
    res.write(event);
  }
  res.end();
}

export function createFakeProviderServer(options: FakeProviderOptions = {}): http.Server {
  const ctx = createContext(options);
  return http.createServer((req, res) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) parts.push(chunk);
    });
    req.on('end', () => {
      const reply = size > MAX_BODY_BYTES ? badRequest('body too large') : replyTo(ctx, req.method ?? '', req.url ?? '/', Buffer.concat(parts).toString('utf8'));
      send(res, reply).catch(() => res.destroy());
    });
  });
}

export interface RunningFakeProvider {
  url: string;
  close(): Promise<void>;
}

export async function startFakeProvider(host: string, port: number, options: FakeProviderOptions = {}): Promise<RunningFakeProvider> {
  const server = createFakeProviderServer(options);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `host:port` from the environment. */
export function parseListen(text: string): { host: string; port: number } {
  const match = /^(.+):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[2]);
  if (!match?.[1] || port > 65535) throw new Error(`FAKE_PROVIDER_LISTEN: "${text}" must be <host>:<port>`);
  return { host: match[1].replace(/^\[(.*)\]$/, '$1'), port };
}

async function main(): Promise<void> {
  const { host, port } = parseListen(process.env.FAKE_PROVIDER_LISTEN ?? '0.0.0.0:9000');
  const provider = await startFakeProvider(host, port);
  process.stdout.write(`fake provider listening on ${provider.url} (${Object.keys(HANDLERS).join(', ')})\n`);
  const stop = (): void => {
    provider.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`fake provider: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
