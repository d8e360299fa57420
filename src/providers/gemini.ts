/**
 * Google Gemini API and Vertex AI (`.../models/<model>:<method>`).
 * `candidatesTokenCount` excludes thinking tokens; the spec's output count includes them,
 * so `thoughtsTokenCount` is added. `promptTokenCount` already includes cached content, and
 * tool-use prompt tokens are input too.
 */
import { asObject, count, identifier, markFailed, sumReported, text } from './json';
import type { JsonMembers, ProviderDialect, RequestFacts, RequestView, ResponseFacts, SidecarError, StreamEvent, StreamEventResult } from './types';

/** google.rpc.Code names for the statuses the sidecar answers itself (400 refused path, 502, 504). */
const GOOGLE_STATUS: Readonly<Record<number, string>> = { 400: 'INVALID_ARGUMENT', 502: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED' };

const METHOD_PATH = /\/models\/([^/:]+):([A-Za-z]+)$/;

const OPERATION_BY_METHOD: Record<string, string> = {
  generateContent: 'generate_content',
  streamGenerateContent: 'generate_content',
  embedContent: 'embeddings',
  batchEmbedContents: 'embeddings',
};

export const geminiDialect: ProviderDialect = {
  id: 'gemini',
  errorBody(error: SidecarError): unknown {
    // google.rpc.Status, as the Gemini and Vertex APIs answer errors.
    return { error: { code: error.status, message: error.message, status: GOOGLE_STATUS[error.status] ?? 'UNAVAILABLE' } };
  },
  describeRequest(request: RequestView): RequestFacts | undefined {
    if (request.method !== 'POST') return undefined;
    const match = METHOD_PATH.exec(request.path);
    const method = match?.[2];
    const operation = method ? OPERATION_BY_METHOD[method] : undefined;
    if (!match || !operation) return undefined;
    return { operation, requestModel: decodeSegment(match[1] ?? ''), streaming: method === 'streamGenerateContent' };
  },
  // Without `alt=sse` a stream arrives as one JSON array of responses, read one by one.
  readBody: readResponse,
  readStreamEvent(_event: StreamEvent, facts: ResponseFacts, json: JsonMembers): StreamEventResult {
    readResponse(json, facts);
    return { content: json.hasItems('candidates') };
  },
};

function readResponse(json: JsonMembers, facts: ResponseFacts): void {
  const error = asObject(json.get('error'));
  if (error) markFailed(facts, identifier(error.status) ?? identifier(error.code));
  const model = text(json.get('modelVersion'));
  if (model) facts.responseModel = model;
  const usage = asObject(json.get('usageMetadata'));
  if (!usage) return;
  const prompt = count(usage.promptTokenCount);
  const toolPrompt = count(usage.toolUsePromptTokenCount);
  const candidates = count(usage.candidatesTokenCount);
  const thoughts = count(usage.thoughtsTokenCount);
  const input = sumReported(prompt, toolPrompt);
  const output = sumReported(candidates, thoughts);
  if (input !== undefined) facts.usage.input = input;
  if (output !== undefined) facts.usage.output = output;
  const cached = count(usage.cachedContentTokenCount);
  if (cached !== undefined) facts.usage.cacheRead = cached;
  if (thoughts !== undefined) facts.usage.reasoning = thoughts;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
