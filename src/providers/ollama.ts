/**
 * Ollama's native API (`/api/chat`, `/api/generate`, `/api/embed`), streamed as NDJSON by
 * default, plus its OpenAI-compatible `/v1` API, which the OpenAI dialect handles.
 */
import { asObject, count, markFailed, text } from './json';
import { createOpenAiDialect, openAiErrorBody } from './openai';
import type { JsonMembers, ProviderDialect, RequestFacts, RequestView, ResponseFacts, SidecarError, StreamEvent, StreamEventResult } from './types';

const NATIVE_OPERATIONS: Record<string, string> = {
  '/api/chat': 'chat',
  '/api/generate': 'text_completion',
  '/api/embed': 'embeddings',
  '/api/embeddings': 'embeddings',
};

const openAiCompatible = createOpenAiDialect({ id: 'ollama-openai', injectStreamUsage: true });

function isNative(path: string): boolean {
  return path.startsWith('/api/');
}

export const ollamaDialect: ProviderDialect = {
  id: 'ollama',
  errorBody(error: SidecarError, path: string): unknown {
    // Native endpoints answer `{"error": "<message>"}`; the /v1 API answers like OpenAI.
    return isNative(path) ? { error: error.message } : openAiErrorBody(error);
  },
  describeRequest(request: RequestView): RequestFacts | undefined {
    if (!isNative(request.path)) return openAiCompatible.describeRequest(request);
    const operation = NATIVE_OPERATIONS[request.path];
    if (request.method !== 'POST' || !operation) return undefined;
    // Native chat and generate stream unless the client says `"stream": false`.
    const streaming = operation !== 'embeddings' && request.body.get('stream') !== false;
    return { operation, requestModel: text(request.body.get('model')), streaming };
  },
  rewriteRequest(request, facts) {
    return isNative(request.path) ? undefined : openAiCompatible.rewriteRequest?.(request, facts);
  },
  readBody(json: JsonMembers, facts: ResponseFacts): void {
    if (isOpenAiShaped(json)) openAiCompatible.readBody(json, facts);
    else readNative(json, facts);
  },
  readStreamEvent(event: StreamEvent, facts: ResponseFacts, json: JsonMembers): StreamEventResult {
    if (isOpenAiShaped(json) || event.data === '[DONE]') {
      return openAiCompatible.readStreamEvent(event, facts, json);
    }
    readNative(json, facts);
    // Only a parsed chunk is model output: not the final `done` line, an error line or an unreadable one.
    return { content: json.isObject && json.get('done') !== true && !json.has('error') };
  },
  rewriteInjectedEvent(event, json) {
    return openAiCompatible.rewriteInjectedEvent?.(event, json) ?? { action: 'keep' };
  },
};

function isOpenAiShaped(json: JsonMembers): boolean {
  return json.has('object') || json.has('choices') || asObject(json.get('error')) !== undefined;
}

function readNative(json: JsonMembers, facts: ResponseFacts): void {
  // Ollama errors are `{"error": "<message>"}` with no code: the message must not become an attribute.
  if (typeof json.get('error') === 'string') markFailed(facts, undefined);
  const model = text(json.get('model'));
  if (model) facts.responseModel = model;
  const input = count(json.get('prompt_eval_count'));
  const output = count(json.get('eval_count'));
  if (input !== undefined) facts.usage.input = input;
  if (output !== undefined) facts.usage.output = output;
}
