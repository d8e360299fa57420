/**
 * Builds a chat-completions SSE stream the way OpenAI sends it: with `include_usage` every
 * chunk carries `"usage":null` and a last chunk with empty `choices` carries the usage;
 * without it neither appears. Used to check the sidecar hides exactly what it injected.
 */
export interface StreamSpec {
  model: string;
  words: string[];
  usage: { prompt_tokens: number; completion_tokens: number };
}

export function openAiChatStream(spec: StreamSpec, includeUsage: boolean): string[] {
  const base = { id: 'chatcmpl-test', object: 'chat.completion.chunk', created: 1747148049, model: spec.model };
  const chunk = (choices: unknown[], usage?: unknown): string => {
    const payload: Record<string, unknown> = { ...base, choices };
    if (includeUsage) payload.usage = usage ?? null;
    return `data: ${JSON.stringify(payload)}\n\n`;
  };
  const events = [chunk([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }])];
  for (const word of spec.words) events.push(chunk([{ index: 0, delta: { content: word }, logprobs: null, finish_reason: null }]));
  events.push(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]));
  if (includeUsage) {
    const total = spec.usage.prompt_tokens + spec.usage.completion_tokens;
    events.push(chunk([], { ...spec.usage, total_tokens: total, prompt_tokens_details: { cached_tokens: 0 } }));
  }
  events.push('data: [DONE]\n\n');
  return events;
}

export function asksForUsage(body: Buffer): boolean {
  const parsed = JSON.parse(body.toString('utf8')) as { stream_options?: { include_usage?: boolean } };
  return parsed.stream_options?.include_usage === true;
}
