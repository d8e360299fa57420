/**
 * AWS Bedrock Runtime: Converse, ConverseStream, InvokeModel and InvokeModelWithResponseStream
 * for every model family, plus ApplyGuardrail and CountTokens (recognised and counted; they have
 * no generation usage). The model comes from the URL path (a model ID, an inference profile such
 * as `us.anthropic...`, or an ARN, URL-encoded).
 *
 * Token counts, most authoritative first: the `x-amzn-bedrock-*-token-count` answer headers
 * (InvokeModel), the `amazon-bedrock-invocationMetrics` of the last InvokeModel stream chunk,
 * Converse's `usage` and ConverseStream's `metadata` event, else the family's own body fields
 * (Anthropic's `usage`, Titan's `inputTextTokenCount`/`tokenCount`). Bedrock's input counts
 * exclude cache reads and writes, so the three are added, as for Anthropic. A guardrail that
 * intervened is an answer, not an error; a throttling or other exception event is.
 */
import { asObject, count, field, markFailed, parseJson, sumReported, text } from './json';
import type { JsonMembers, ProviderDialect, RequestFacts, RequestView, ResponseFacts, SidecarError, StreamEvent, StreamEventResult } from './types';

interface BedrockUsage {
  input?: number;
  output?: number;
  cacheRead?: number;
  cacheWrite?: number;
}

/** Usage as Bedrock reported it (input without cache) and how sure that report is. */
const RAW = Symbol('bedrock raw usage');
/** Higher ranks are not overwritten by lower ones (a header beats a body field). */
const RANK = { body: 1, converse: 2, invocationMetrics: 3, headers: 4 } as const;
type Facts = ResponseFacts & { [RAW]?: { usage: BedrockUsage; rank: number } };

const OPERATIONS: ReadonlyArray<{ pattern: RegExp; operation: (body: JsonMembers, model: string) => string; streaming: boolean }> = [
  { pattern: /^\/model\/([^/]+)\/converse$/, operation: () => 'chat', streaming: false },
  { pattern: /^\/model\/([^/]+)\/converse-stream$/, operation: () => 'chat', streaming: true },
  { pattern: /^\/model\/([^/]+)\/invoke$/, operation: invokeOperation, streaming: false },
  { pattern: /^\/model\/([^/]+)\/invoke-with-response-stream$/, operation: invokeOperation, streaming: true },
  { pattern: /^\/model\/([^/]+)\/count-tokens$/, operation: () => 'count_tokens', streaming: false },
  { pattern: /^\/guardrail\/([^/]+)\/version\/[^/]+\/apply$/, operation: () => 'apply_guardrail', streaming: false },
];

/** Converse stream events that carry model output. */
const CONVERSE_CONTENT = new Set(['contentBlockDelta', 'contentBlockStart']);

export const bedrockDialect: ProviderDialect = {
  id: 'bedrock',
  errorBody(error: SidecarError): unknown {
    // Bedrock's error shape: the SDKs take `message`, and the error's name from x-amzn-errortype
    // or, without that header, from `__type`.
    return { message: error.message, __type: error.code };
  },
  describeRequest(request: RequestView): RequestFacts | undefined {
    if (request.method !== 'POST') return undefined;
    for (const { pattern, operation, streaming } of OPERATIONS) {
      const match = pattern.exec(request.path);
      if (!match) continue;
      const id = decodeSegment(match[1] as string);
      const isGuardrail = request.path.startsWith('/guardrail/');
      return { operation: operation(request.body, id ?? ''), ...(isGuardrail || id === undefined ? {} : { requestModel: id }), streaming };
    }
    return undefined;
  },
  readHeaders(headers: Readonly<Record<string, string | string[] | undefined>>, facts: ResponseFacts): void {
    const header = (name: string): number | undefined => {
      const value = headers[name];
      const first = Array.isArray(value) ? value[0] : value;
      return first !== undefined && /^\d+$/.test(first) ? count(Number(first)) : undefined;
    };
    const usage = {
      input: header('x-amzn-bedrock-input-token-count'),
      output: header('x-amzn-bedrock-output-token-count'),
      cacheRead: header('x-amzn-bedrock-cache-read-input-token-count'),
      cacheWrite: header('x-amzn-bedrock-cache-write-input-token-count'),
    };
    applyUsage(facts, usage, RANK.headers);
    const errorType = headers['x-amzn-errortype'];
    const first = Array.isArray(errorType) ? errorType[0] : errorType;
    // `ValidationException:http://internal.amazon.com/coral/...`: the name is before the colon.
    if (first) facts.errorCode = first.split(':')[0];
  },
  readBody(json: JsonMembers, facts: ResponseFacts): void {
    const model = text(json.get('model'));
    if (model) facts.responseModel = model;
    const usage = asObject(json.get('usage'));
    if (usage && 'inputTokens' in usage) applyUsage(facts, converseUsage(usage), RANK.converse);
    else if (usage) applyUsage(facts, anthropicUsage(usage), RANK.body);
    else if (json.has('inputTextTokenCount')) applyUsage(facts, titanUsage(json), RANK.body);
  },
  readStreamEvent(event: StreamEvent, facts: ResponseFacts, json: JsonMembers): StreamEventResult {
    const name = event.event ?? '';
    if (name.startsWith('exception:') || name.startsWith('error:')) {
      const type = name.slice(name.indexOf(':') + 1);
      markFailed(facts, type === '' ? undefined : type.charAt(0).toUpperCase() + type.slice(1));
      return { content: false };
    }
    if (name === 'chunk') return readInvokeChunk(json, facts);
    if (name === 'metadata') {
      const usage = asObject(json.get('usage'));
      if (usage) applyUsage(facts, converseUsage(usage), RANK.converse);
      return { content: false };
    }
    return { content: CONVERSE_CONTENT.has(name) && hasOutput(json) };
  },
};

/** InvokeModel's operation by what the body asks for: messages are a chat, texts to embed are embeddings. */
function invokeOperation(body: JsonMembers, model: string): string {
  if (body.has('messages')) return 'chat';
  if (/embed/i.test(model) || body.has('texts') || body.has('inputImage')) return 'embeddings';
  return 'text_completion';
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** A ConverseStream block that actually carries text, a tool call's input or reasoning. */
function hasOutput(json: JsonMembers): boolean {
  const delta = asObject(json.get('delta'));
  if (delta) return Object.values(delta).some((value) => value !== null && value !== undefined && value !== '');
  return asObject(field(json.get('start'), 'toolUse')) !== undefined;
}

/** One InvokeModelWithResponseStream chunk: `{"bytes": base64 of the model family's own event}`. */
function readInvokeChunk(json: JsonMembers, facts: ResponseFacts): StreamEventResult {
  const bytes = text(json.get('bytes'));
  const inner = asObject(bytes === undefined ? undefined : parseJson(Buffer.from(bytes, 'base64').toString('utf8')));
  if (!inner) return { content: false };
  const metrics = asObject(inner['amazon-bedrock-invocationMetrics']);
  if (metrics) {
    applyUsage(
      facts,
      { input: count(metrics.inputTokenCount), output: count(metrics.outputTokenCount), cacheRead: count(metrics.cacheReadInputTokenCount), cacheWrite: count(metrics.cacheWriteInputTokenCount) },
      RANK.invocationMetrics,
    );
  }
  const type = text(inner.type);
  if (type === 'message_start') {
    const model = text(field(inner.message, 'model'));
    if (model) facts.responseModel = model;
    const usage = asObject(field(inner.message, 'usage'));
    if (usage) applyUsage(facts, anthropicUsage(usage), RANK.body);
  }
  if (type === 'error') markFailed(facts, text(field(inner.error, 'type')));
  return { content: innerHasText(inner, type) };
}

/** Whether a family's stream event carries output: Anthropic deltas, Titan, Llama, Mistral, Cohere text. */
function innerHasText(inner: Record<string, unknown>, type: string | undefined): boolean {
  if (type !== undefined) return type === 'content_block_delta' || type === 'content_block_start';
  for (const key of ['outputText', 'generation', 'completion', 'text']) if (text(inner[key]) !== undefined) return true;
  const outputs = inner.outputs ?? inner.generations;
  return Array.isArray(outputs) && outputs.some((item) => text(field(item, 'text')) !== undefined);
}

function converseUsage(usage: Record<string, unknown>): BedrockUsage {
  return { input: count(usage.inputTokens), output: count(usage.outputTokens), cacheRead: count(usage.cacheReadInputTokens), cacheWrite: count(usage.cacheWriteInputTokens) };
}

function anthropicUsage(usage: Record<string, unknown>): BedrockUsage {
  return { input: count(usage.input_tokens), output: count(usage.output_tokens), cacheRead: count(usage.cache_read_input_tokens), cacheWrite: count(usage.cache_creation_input_tokens) };
}

function titanUsage(json: JsonMembers): BedrockUsage {
  const results = json.get('results');
  const outputs = Array.isArray(results) ? results.map((result) => count(field(result, 'tokenCount'))) : [];
  return { input: count(json.get('inputTextTokenCount')), output: sumReported(...outputs) };
}

/** Merges a report of `rank` field by field: a value from a more authoritative source stays. */
function applyUsage(facts: Facts, update: BedrockUsage, rank: number): void {
  const known = facts[RAW] ?? { usage: {}, rank: 0 };
  if (Object.values(update).every((value) => value === undefined)) return;
  for (const key of Object.keys(update) as Array<keyof BedrockUsage>) {
    const value = update[key];
    if (value !== undefined && (rank >= known.rank || known.usage[key] === undefined)) known.usage[key] = value;
  }
  known.rank = Math.max(known.rank, rank);
  facts[RAW] = known;
  const { input, output, cacheRead, cacheWrite } = known.usage;
  facts.usage.input = input === undefined ? undefined : sumReported(input, cacheRead, cacheWrite);
  facts.usage.output = output;
  facts.usage.cacheRead = cacheRead;
  facts.usage.cacheWrite = cacheWrite;
}
