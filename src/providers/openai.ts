/**
 * OpenAI wire dialect: chat completions, legacy completions, embeddings and the Responses API.
 * Also spoken by Azure OpenAI (deployment in the path), Mistral, Groq, DeepSeek, xAI,
 * OpenRouter, vLLM, Together, Cerebras and Ollama's /v1 API.
 */
import { asObject, count, field, identifier, markFailed, membersOf, text } from './json';
import type {
  EventRewrite,
  JsonMembers,
  ProviderDialect,
  RequestFacts,
  RequestRewrite,
  RequestView,
  ResponseFacts,
  SidecarError,
  StreamEvent,
  StreamEventResult,
  TokenUsage,
} from './types';

export interface OpenAiDialectOptions {
  id: string;
  /**
   * Add `stream_options.include_usage` to streaming requests that lack it. Only for APIs that
   * accept the option; the extra usage data is then hidden from the client again.
   */
  injectStreamUsage: boolean;
}

const OPERATIONS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\/chat\/completions$/, 'chat'],
  [/\/completions$/, 'text_completion'],
  [/\/embeddings$/, 'embeddings'],
  [/\/responses$/, 'chat'],
];

/** Azure OpenAI names the model by deployment: `/openai/deployments/<name>/chat/completions`. */
const AZURE_DEPLOYMENT = /\/deployments\/([^/]+)\//;

export function createOpenAiDialect(options: OpenAiDialectOptions): ProviderDialect {
  return {
    id: options.id,
    describeRequest,
    rewriteRequest: options.injectStreamUsage ? askForStreamUsage : undefined,
    readBody: readResponse,
    readStreamEvent,
    rewriteInjectedEvent,
    errorBody: openAiErrorBody,
  };
}

/** `{ error: { message, type, param, code } }`, as the OpenAI API and SDKs use it. */
export function openAiErrorBody(error: SidecarError): unknown {
  return { error: { message: error.message, type: error.type, param: null, code: error.code } };
}

function describeRequest(request: RequestView): RequestFacts | undefined {
  if (request.method !== 'POST') return undefined;
  const operation = OPERATIONS.find(([pattern]) => pattern.test(request.path))?.[1];
  if (!operation) return undefined;
  const deployment = AZURE_DEPLOYMENT.exec(request.path)?.[1];
  const requestModel = text(request.body.get('model')) ?? (deployment ? safeDecode(deployment) : undefined);
  return { operation, requestModel, streaming: request.body.get('stream') === true };
}

function askForStreamUsage(request: RequestView, facts: RequestFacts): RequestRewrite | undefined {
  if (!facts.streaming || (facts.operation !== 'chat' && facts.operation !== 'text_completion')) return undefined;
  if (/\/responses$/.test(request.path)) return undefined; // the Responses API always reports usage
  if (!request.body.isObject) return undefined;
  const streamOptions = asObject(request.body.get('stream_options'));
  if (streamOptions?.include_usage === true) return undefined;
  if (streamOptions === undefined) return ASK_FOR_USAGE;
  return {
    setMembers: { stream_options: { ...streamOptions, include_usage: true } },
    hideInjectedUsage: true,
  };
}

/** The usual rewrite (no stream_options yet), one frozen value: its text is serialised once (see setTopLevelMembers). */
const ASK_FOR_USAGE: RequestRewrite = Object.freeze({
  setMembers: Object.freeze({ stream_options: Object.freeze({ include_usage: true }) }),
  hideInjectedUsage: true,
});

/** A whole answer, or one chunk of a chat/completions stream: error, model and usage. */
function readResponse(json: JsonMembers, facts: ResponseFacts): void {
  const error = asObject(json.get('error'));
  if (error) markFailed(facts, identifier(error.code) ?? identifier(error.type));
  const model = text(json.get('model'));
  if (model) facts.responseModel = model;
  applyUsage(json.get('usage'), facts);
}

function readStreamEvent(_event: StreamEvent, facts: ResponseFacts, json: JsonMembers): StreamEventResult {
  if (!json.isObject) return { content: false };
  const type = text(json.get('type'));
  if (type !== undefined && type.startsWith('response.')) return readResponsesEvent(type, json, facts);
  if (type === 'error') {
    markFailed(facts, identifier(json.get('code')) ?? identifier(field(json.get('error'), 'code')));
    return { content: false };
  }
  readResponse(json, facts);
  // Groq reports stream usage only inside its `x_groq` extension.
  applyUsage(field(json.get('x_groq'), 'usage'), facts);
  return { content: json.hasItems('choices') };
}

/** Responses API stream: `response.created` / `response.completed` carry the whole response object. */
function readResponsesEvent(type: string, json: JsonMembers, facts: ResponseFacts): StreamEventResult {
  const response = json.get('response');
  if (response !== undefined) readResponse(membersOf(response), facts);
  return { content: type.endsWith('.delta') };
}

/** Chat/completions use prompt/completion names; the Responses API uses input/output names. */
function applyUsage(raw: unknown, facts: ResponseFacts): void {
  const usage = asObject(raw);
  if (!usage) return;
  const parsed: TokenUsage = {
    input: count(usage.prompt_tokens) ?? count(usage.input_tokens),
    output: count(usage.completion_tokens) ?? count(usage.output_tokens),
    cacheRead:
      count(field(usage, 'prompt_tokens_details', 'cached_tokens')) ??
      count(field(usage, 'input_tokens_details', 'cached_tokens')),
    cacheWrite: count(field(usage, 'prompt_tokens_details', 'cache_write_tokens')),
    reasoning:
      count(field(usage, 'completion_tokens_details', 'reasoning_tokens')) ??
      count(field(usage, 'output_tokens_details', 'reasoning_tokens')),
  };
  for (const key of Object.keys(parsed) as Array<keyof TokenUsage>) {
    if (parsed[key] !== undefined) facts.usage[key] = parsed[key];
  }
}

/**
 * With `include_usage` the API adds `"usage": null` to every chunk and a final chunk with
 * empty `choices` holding the usage. The client did not ask for either, so both go.
 */
function rewriteInjectedEvent(event: StreamEvent, json: JsonMembers): EventRewrite {
  // Every chunk but the last ends so: decided from its last bytes, its members are located only
  // when it is read, after it went out (jsonMembers' memberCut cuts it the same way).
  if (event.data.endsWith(',"usage":null}')) return REMOVE_NULL_USAGE;
  if (!json.has('usage')) return { action: 'keep' };
  const usage = json.get('usage');
  if (usage === null) return { action: 'removeMember', name: 'usage' };
  const choices = asObject(usage) ? json.get('choices') : undefined;
  if (Array.isArray(choices) && choices.length === 0) return { action: 'drop' };
  // A real usage object on a content chunk (DeepSeek style) would have been sent anyway: keep it.
  return { action: 'keep' };
}

const REMOVE_NULL_USAGE: EventRewrite = Object.freeze({ action: 'removeMember', name: 'usage' });

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
