/**
 * Cohere chat and embed, v1 and v2. Cohere reports both raw and billed token counts;
 * the spec says billed units win when both exist.
 */
import { asObject, count, field, text } from './json';
import type { JsonMembers, ProviderDialect, RequestFacts, RequestView, ResponseFacts, SidecarError, StreamEvent, StreamEventResult } from './types';

const OPERATIONS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\/v[12]\/chat$/, 'chat'],
  [/\/v[12]\/embed$/, 'embeddings'],
];

const CONTENT_EVENTS = new Set([
  'content-delta',
  'tool-plan-delta',
  'tool-call-start',
  'tool-call-delta',
  'text-generation',
  'tool-calls-generation',
]);

export const cohereDialect: ProviderDialect = {
  id: 'cohere',
  errorBody(error: SidecarError): unknown {
    return { message: error.message };
  },
  describeRequest(request: RequestView): RequestFacts | undefined {
    if (request.method !== 'POST') return undefined;
    const operation = OPERATIONS.find(([pattern]) => pattern.test(request.path))?.[1];
    if (!operation) return undefined;
    return {
      operation,
      requestModel: text(request.body.get('model')),
      streaming: request.body.get('stream') === true,
    };
  },
  readBody(json: JsonMembers, facts: ResponseFacts): void {
    readBilledUnits(asObject(field(json.get('usage'), 'billed_units')) ?? asObject(field(json.get('meta'), 'billed_units')), facts);
  },
  readStreamEvent(event: StreamEvent, facts: ResponseFacts, json: JsonMembers): StreamEventResult {
    // v2 SSE: `message-end` carries `delta.usage`; v1 NDJSON: `stream-end` carries the full response.
    const type = text(json.get('type')) ?? text(json.get('event_type')) ?? event.event;
    if (type === 'message-end') readUsage(json.get('delta'), facts);
    else if (type === 'stream-end') readUsage(json.get('response'), facts);
    return { content: type !== undefined && CONTENT_EVENTS.has(type) };
  },
};

function readUsage(json: unknown, facts: ResponseFacts): void {
  readBilledUnits(asObject(field(json, 'usage', 'billed_units')) ?? asObject(field(json, 'meta', 'billed_units')), facts);
}

function readBilledUnits(billed: Record<string, unknown> | undefined, facts: ResponseFacts): void {
  if (!billed) return;
  const input = count(billed.input_tokens);
  const output = count(billed.output_tokens);
  if (input !== undefined) facts.usage.input = input;
  if (output !== undefined) facts.usage.output = output;
}
