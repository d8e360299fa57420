/**
 * Recorded provider exchanges (copied from ../shared/corpus into test/fixtures/corpus, each
 * with its `source`) and what the sidecar's metrics must say about each one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface CorpusExchange {
  file: string;
  source: string;
  provider: string;
  api: string;
  stream: boolean;
  request: { method: string; host: string; path: string; headers: Record<string, string>; body: unknown };
  response: { status: number; headers: Record<string, string>; body_text: string };
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
};

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
  if (exchange.provider === 'anthropic' && input !== undefined) {
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
