/**
 * Bedrock beyond the recorded corpus (test/unit/dialects.test.ts reads every recorded exchange):
 * each operation and model family, where each kind of token count comes from and which wins,
 * exceptions inside a stream, and what is not an error.
 */
import { eventMembers, LayoutMembers } from '../../src/observe/jsonMembers';
import { bedrockDialect } from '../../src/providers/bedrock';
import { membersOf } from '../../src/providers/json';
import type { ResponseFacts, StreamEvent } from '../../src/providers/types';
import { errorTypeFor } from '../../src/proxy/exchange';

const describeRequest = (path: string, body: unknown = {}, method = 'POST') => bedrockDialect.describeRequest({ method, path, body: new LayoutMembers(Buffer.from(JSON.stringify(body))) });
const newFacts = (): ResponseFacts => ({ usage: {} });
const chunk = (inner: unknown): StreamEvent => ({ event: 'chunk', data: JSON.stringify({ bytes: Buffer.from(JSON.stringify(inner)).toString('base64') }) });
function read(events: StreamEvent[], facts = newFacts()): { facts: ResponseFacts; content: number } {
  let content = 0;
  for (const event of events) if (bedrockDialect.readStreamEvent(event, facts, eventMembers(event.data)).content) content += 1;
  return { facts, content };
}

describe('operations and models from the path', () => {
  test.each([
    ['/model/amazon.nova-pro-v1%3A0/converse', {}, { operation: 'chat', requestModel: 'amazon.nova-pro-v1:0', streaming: false }],
    ['/model/us.meta.llama3-2-90b-instruct-v1%3A0/converse-stream', {}, { operation: 'chat', requestModel: 'us.meta.llama3-2-90b-instruct-v1:0', streaming: true }],
    ['/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke', { messages: [] }, { operation: 'chat', requestModel: 'anthropic.claude-3-haiku-20240307-v1:0', streaming: false }],
    ['/model/meta.llama3-8b-instruct-v1%3A0/invoke-with-response-stream', { prompt: 'Hi' }, { operation: 'text_completion', requestModel: 'meta.llama3-8b-instruct-v1:0', streaming: true }],
    ['/model/amazon.titan-embed-text-v2%3A0/invoke', { inputText: 'Hi' }, { operation: 'embeddings', requestModel: 'amazon.titan-embed-text-v2:0', streaming: false }],
    ['/model/cohere.embed-english-v3/invoke', { texts: ['a'] }, { operation: 'embeddings', requestModel: 'cohere.embed-english-v3', streaming: false }],
    [
      '/model/arn%3Aaws%3Abedrock%3Aeu-west-1%3A123456789012%3Aapplication-inference-profile%2Fabc123/converse',
      {},
      { operation: 'chat', requestModel: 'arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/abc123', streaming: false },
    ],
    ['/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/count-tokens', {}, { operation: 'count_tokens', requestModel: 'anthropic.claude-3-5-sonnet-20240620-v1:0', streaming: false }],
    ['/guardrail/gr-123/version/1/apply', { source: 'INPUT' }, { operation: 'apply_guardrail', streaming: false }],
  ])('%s', (path, body, expected) => {
    expect(describeRequest(path, body)).toEqual(expected);
  });

  test('anything else is not recognised (proxied and counted as _OTHER)', () => {
    expect(describeRequest('/model/x/converse', {}, 'GET')).toBeUndefined();
    expect(describeRequest('/foundation-models')).toBeUndefined();
    expect(describeRequest('/model/a/b/converse')).toBeUndefined();
  });

  test('a path segment that is not valid percent-encoding names no model', () => {
    expect(describeRequest('/model/bad%E0%A4%A/converse')).toEqual({ operation: 'chat', streaming: false });
  });
});

describe('token counts', () => {
  test('InvokeModel headers win over the body, and input adds cache reads and writes', () => {
    const facts = newFacts();
    bedrockDialect.readHeaders?.(
      { 'x-amzn-bedrock-input-token-count': '4', 'x-amzn-bedrock-output-token-count': '50', 'x-amzn-bedrock-cache-read-input-token-count': '100', 'x-amzn-bedrock-cache-write-input-token-count': '7' },
      facts,
    );
    bedrockDialect.readBody(membersOf({ model: 'claude-3-5-haiku-20241022', usage: { input_tokens: 999, output_tokens: 999 } }), facts);
    expect(facts).toMatchObject({ responseModel: 'claude-3-5-haiku-20241022', usage: { input: 111, output: 50, cacheRead: 100, cacheWrite: 7 } });
  });

  test('headers that are not whole numbers are not counts', () => {
    const facts = newFacts();
    bedrockDialect.readHeaders?.({ 'x-amzn-bedrock-input-token-count': '1e3', 'x-amzn-bedrock-output-token-count': '-5' }, facts);
    expect(facts.usage).toEqual({});
  });

  test('Titan, Llama and Mistral InvokeModel bodies without headers still give their counts where the body has them', () => {
    const titan = newFacts();
    bedrockDialect.readBody(membersOf({ inputTextTokenCount: 30, results: [{ tokenCount: 20 }, { tokenCount: 9 }] }), titan);
    expect(titan.usage).toMatchObject({ input: 30, output: 29 });
  });

  test('ConverseStream: usage from the metadata event, content from deltas that carry something', () => {
    const { facts, content } = read([
      { event: 'messageStart', data: '{"role":"assistant"}' },
      { event: 'contentBlockDelta', data: '{"contentBlockIndex":0,"delta":{"text":"Hel"}}' },
      { event: 'contentBlockDelta', data: '{"contentBlockIndex":0,"delta":{"text":""}}' },
      { event: 'contentBlockStart', data: '{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"t","name":"f"}}}' },
      { event: 'contentBlockDelta', data: '{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\\"a\\":"}}}' },
      { event: 'contentBlockStop', data: '{"contentBlockIndex":1}' },
      { event: 'messageStop', data: '{"stopReason":"tool_use"}' },
      { event: 'metadata', data: '{"usage":{"inputTokens":10,"outputTokens":5,"cacheReadInputTokens":90,"cacheWriteInputTokens":0,"totalTokens":105},"metrics":{"latencyMs":1}}' },
    ]);
    expect(content).toBe(3);
    expect(facts.usage).toEqual({ input: 100, output: 5, cacheRead: 90, cacheWrite: 0 });
    expect(facts.failed).toBeUndefined();
  });

  test.each([
    ['Anthropic', [{ type: 'message_start', message: { model: 'claude-3-haiku-20240307', usage: { input_tokens: 3, output_tokens: 1 } } }, { type: 'content_block_delta', delta: { text: 'Hi' } }], 'claude-3-haiku-20240307'],
    ['Llama', [{ generation: 'Hi', prompt_token_count: 3 }, { generation: '' }], undefined],
    ['Mistral', [{ outputs: [{ text: 'Hi' }] }], undefined],
    ['Titan', [{ outputText: 'Hi', index: 0 }], undefined],
    ['Cohere', [{ generations: [{ text: 'Hi' }] }], undefined],
  ])('InvokeModel stream of %s: invocation metrics in the last chunk are the counts', (_family, events, model) => {
    const last = { 'amazon-bedrock-invocationMetrics': { inputTokenCount: 12, outputTokenCount: 34, invocationLatency: 100, firstByteLatency: 50 } };
    const { facts, content } = read([...events.map(chunk), chunk(last)]);
    expect(content).toBe(1);
    expect(facts.usage).toEqual({ input: 12, output: 34 });
    expect(facts.responseModel).toBe(model);
  });
});

describe('errors', () => {
  test('a throttling exception inside a stream is an error named as the AWS exception', () => {
    const { facts } = read([{ event: 'messageStart', data: '{}' }, { event: 'exception:throttlingException', data: '{"message":"Too many tokens"}' }]);
    expect(errorTypeFor({ kind: 'completed' }, 200, facts.failed === true, facts.errorCode)).toBe('ThrottlingException');
  });

  test('an error answer names its x-amzn-errortype, without the URL after the colon', () => {
    const facts = newFacts();
    bedrockDialect.readHeaders?.({ 'x-amzn-errortype': 'ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/' }, facts);
    bedrockDialect.readBody(membersOf({ message: 'The provided model identifier is invalid.' }), facts);
    expect(errorTypeFor({ kind: 'completed' }, 400, facts.failed === true, facts.errorCode)).toBe('ValidationException');
  });

  test('a guardrail that intervened is an answer, not an error', () => {
    const facts = newFacts();
    bedrockDialect.readBody(membersOf({ stopReason: 'guardrail_intervened', usage: { inputTokens: 5, outputTokens: 1 }, output: { message: { content: [] } } }), facts);
    expect(errorTypeFor({ kind: 'completed' }, 200, facts.failed === true, facts.errorCode)).toBeUndefined();
  });

  test("the sidecar's own errors come in Bedrock's shape", () => {
    expect(bedrockDialect.errorBody?.({ status: 502, code: 'upstream_unreachable', type: 'upstream_error', message: 'genai-sidecar: upstream unreachable' }, '/model/x/converse')).toEqual({
      message: 'genai-sidecar: upstream unreachable',
      __type: 'upstream_unreachable',
    });
  });
});
