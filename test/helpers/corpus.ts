/**
 * Recorded provider exchanges (copied from ../shared/corpus into test/fixtures/corpus, each
 * with its `source`) and what the sidecar's metrics must say about each one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { splitLines, splitSseEvents } from './fakeProvider';

export interface CorpusExchange {
  file: string;
  source: string;
  provider: string;
  api: string;
  stream: boolean;
  request: { method: string; host: string; path: string; headers: Record<string, string>; body: unknown };
  /** `body_text` is null for a binary body (AWS event streams), whose exact bytes are `body_base64`. */
  response: { status: number; headers: Record<string, string>; body_text: string | null; body_base64?: string };
  expected: {
    request_model: string | null;
    response_model: string | null;
    input_tokens: number | null;
    output_tokens: number | null;
    cache_read_tokens: number | null;
    cache_creation_tokens: number | null;
    reasoning_tokens: number | null;
    error_type: string | null;
  };
}

export const CORPUS_DIR = path.resolve(__dirname, '../fixtures/corpus');

export function loadCorpus(): CorpusExchange[] {
  const exchanges: CorpusExchange[] = [];
  for (const dir of readdirSync(CORPUS_DIR, { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    for (const file of readdirSync(path.join(CORPUS_DIR, dir.name)).sort()) {
      if (!file.endsWith('.json')) continue;
      const exchange = JSON.parse(readFileSync(path.join(CORPUS_DIR, dir.name, file), 'utf8')) as Omit<CorpusExchange, 'file'>;
      exchanges.push({ ...exchange, file: `${dir.name}/${file}` });
    }
  }
  return exchanges;
}

/** Corpus provider folder -> route name used in the test (a known provider key). */
export const ROUTE_FOR_PROVIDER: Record<string, string> = {
  anthropic: 'anthropic',
  aws_bedrock: 'bedrock',
  azure_openai: 'azure',
  cerebras: 'cerebras',
  cohere: 'cohere',
  deepseek: 'deepseek',
  gcp_gemini: 'gemini',
  gcp_vertex_ai: 'vertex',
  groq: 'groq',
  mistral: 'mistral',
  ollama: 'ollama',
  openai: 'openai',
  openrouter: 'openrouter',
  together: 'together',
};

/** `gen_ai.provider.name` the sidecar must report for each corpus provider. */
export const PROVIDER_NAME: Record<string, string> = {
  anthropic: 'anthropic',
  aws_bedrock: 'aws.bedrock',
  azure_openai: 'azure.ai.openai',
  cerebras: 'cerebras',
  cohere: 'cohere',
  deepseek: 'deepseek',
  gcp_gemini: 'gcp.gemini',
  gcp_vertex_ai: 'gcp.vertex_ai',
  groq: 'groq',
  mistral: 'mistral_ai',
  ollama: 'ollama',
  openai: 'openai',
  openrouter: 'openrouter',
  together: 'together',
};

/** `gen_ai.operation.name` for each recorded API. */
export const OPERATION_FOR_API: Record<string, string> = {
  messages: 'chat',
  chat_completions: 'chat',
  completions: 'text_completion',
  embeddings: 'embeddings',
  responses: 'chat',
  cohere_chat_v1: 'chat',
  cohere_chat_v2: 'chat',
  generate_content: 'generate_content',
  stream_generate_content: 'generate_content',
  batch_embed_contents: 'embeddings',
  ollama_chat: 'chat',
  ollama_generate: 'text_completion',
  converse: 'chat',
  converse_stream: 'chat',
};

/** `gen_ai.operation.name` of one exchange: Bedrock's InvokeModel is a chat or a completion by its body. */
export function operationOf(exchange: CorpusExchange): string | undefined {
  if (exchange.api === 'invoke_model' || exchange.api === 'invoke_model_stream') {
    const body = exchange.request.body;
    return typeof body === 'object' && body !== null && 'messages' in body ? 'chat' : 'text_completion';
  }
  return OPERATION_FOR_API[exchange.api];
}

/** The recorded answer as text, for the exchanges that have a text body (all but AWS event streams). */
export function responseText(exchange: CorpusExchange): string {
  if (exchange.response.body_text === null) throw new Error(`${exchange.file} has a binary body`);
  return exchange.response.body_text;
}

/** The recorded answer's exact bytes. */
export function responseBytes(exchange: CorpusExchange): Buffer {
  const { body_text: text, body_base64: base64 } = exchange.response;
  return text !== null ? Buffer.from(text, 'utf8') : Buffer.from(base64 ?? '', 'base64');
}

/** The answer as the provider sent it: one chunk per SSE event, NDJSON line or AWS event-stream frame. */
export function responseChunks(exchange: CorpusExchange): Array<string | Buffer> {
  const type = exchange.response.headers['content-type'] ?? '';
  const text = exchange.response.body_text;
  if (text === null) return awsFrames(responseBytes(exchange));
  if (type.includes('event-stream')) return splitSseEvents(text);
  if (type.includes('ndjson') || type.includes('stream+json')) return splitLines(text);
  return [text];
}

/** AWS event-stream frames, cut by each one's total-length prelude. */
export function awsFrames(bytes: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  for (let at = 0; at + 4 <= bytes.length; ) {
    const length = bytes.readUInt32BE(at);
    if (length < 16) throw new Error(`not an AWS event stream: a frame of ${length} bytes at ${at}`);
    frames.push(bytes.subarray(at, at + length));
    at += length;
  }
  return frames;
}

export interface ExpectedTokens {
  input?: number;
  output?: number;
  cacheRead?: number;
  cacheWrite?: number;
  reasoning?: number;
}

/**
 * The corpus keeps each provider's raw counts; the spec normalises them (PRODUCT.md): input
 * includes cache reads/writes (Anthropic reports them apart), output includes reasoning
 * (Gemini reports thoughts apart). Absent stays absent.
 */
export function normalisedTokens(exchange: CorpusExchange): ExpectedTokens {
  const e = exchange.expected;
  const present = (value: number | null): number | undefined => (value === null ? undefined : value);
  let input = present(e.input_tokens);
  let output = present(e.output_tokens);
  // Anthropic and Bedrock both report input without cache reads and writes.
  if ((exchange.provider === 'anthropic' || exchange.provider === 'aws_bedrock') && input !== undefined) {
    input += (e.cache_read_tokens ?? 0) + (e.cache_creation_tokens ?? 0);
  }
  if ((exchange.provider === 'gcp_gemini' || exchange.provider === 'gcp_vertex_ai') && output !== undefined) {
    output += e.reasoning_tokens ?? 0;
  }
  return {
    input,
    output,
    cacheRead: present(e.cache_read_tokens),
    cacheWrite: present(e.cache_creation_tokens),
    reasoning: present(e.reasoning_tokens),
  };
}
