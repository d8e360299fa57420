/**
 * Anthropic Messages API (also the legacy text completions endpoint).
 * Anthropic's `input_tokens` excludes cache reads and writes; the spec's input count includes
 * them, so the three are added. Streams report usage in `message_start` and then cumulative
 * values in `message_delta`; a non-null later value replaces the earlier one.
 */
import { asObject, count, field, identifier, markFailed, sumReported, text } from './json';
import type { JsonMembers, ProviderDialect, RequestFacts, RequestView, ResponseFacts, SidecarError, StreamEvent, StreamEventResult } from './types';

interface AnthropicUsage {
  input?: number;
  output?: number;
  cacheRead?: number;
  cacheWrite?: number;
}

const CONTENT_EVENTS = new Set(['content_block_start', 'content_block_delta']);
const RAW_USAGE = Symbol('anthropic raw usage');

type FactsWithRaw = ResponseFacts & { [RAW_USAGE]?: AnthropicUsage };

export const anthropicDialect: ProviderDialect = {
  id: 'anthropic',
  errorBody(error: SidecarError): unknown {
    return { type: 'error', error: { type: error.type, message: error.message } };
  },
  describeRequest(request: RequestView): RequestFacts | undefined {
    if (request.method !== 'POST') return undefined;
    let operation: string | undefined;
    if (/\/messages$/.test(request.path)) operation = 'chat';
    else if (/\/complete$/.test(request.path)) operation = 'text_completion';
    if (!operation) return undefined;
    return {
      operation,
      requestModel: text(request.body.get('model')),
      streaming: request.body.get('stream') === true,
    };
  },
  readBody(json: JsonMembers, facts: ResponseFacts): void {
    if (json.get('type') === 'error' || asObject(json.get('error'))) {
      markFailed(facts, identifier(field(json.get('error'), 'type')));
    }
    const model = text(json.get('model'));
    if (model) facts.responseModel = model;
    applyUsage(json.get('usage'), facts);
  },
  readStreamEvent(event: StreamEvent, facts: ResponseFacts, json: JsonMembers): StreamEventResult {
    const type = text(json.get('type')) ?? event.event;
    if (type === 'message_start') {
      const message = json.get('message');
      const model = text(field(message, 'model'));
      if (model) facts.responseModel = model;
      applyUsage(field(message, 'usage'), facts);
    } else if (type === 'message_delta') {
      applyUsage(json.get('usage'), facts);
    } else if (type === 'error') {
      markFailed(facts, identifier(field(json.get('error'), 'type')));
    }
    return { content: type !== undefined && CONTENT_EVENTS.has(type) };
  },
};

function applyUsage(raw: unknown, facts: FactsWithRaw): void {
  const usage = asObject(raw);
  if (!usage) return;
  const known = facts[RAW_USAGE] ?? {};
  const update: AnthropicUsage = {
    input: count(usage.input_tokens),
    output: count(usage.output_tokens),
    cacheRead: count(usage.cache_read_input_tokens),
    cacheWrite: count(usage.cache_creation_input_tokens),
  };
  for (const key of Object.keys(update) as Array<keyof AnthropicUsage>) {
    if (update[key] !== undefined) known[key] = update[key];
  }
  facts[RAW_USAGE] = known;
  facts.usage.input = sumReported(known.input, known.cacheRead, known.cacheWrite);
  facts.usage.output = known.output;
  facts.usage.cacheRead = known.cacheRead;
  facts.usage.cacheWrite = known.cacheWrite;
}
