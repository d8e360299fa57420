/**
 * The official SDKs, pointed at the sidecar, work unchanged; metrics are exported over
 * OTLP/protobuf (the default protocol) and decoded here.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { ATTR, METRICS } from '../../src/telemetry/names';
import { loadCorpus, responseChunks, type CorpusExchange, responseText } from '../helpers/corpus';
import { pointsOf, startHarness, type Harness } from '../helpers/harness';
import { asksForUsage, openAiChatStream, type StreamSpec } from '../helpers/openAiStream';
import type { ReceivedPoint } from '../helpers/otlpReceiver';

let harness: Harness;
let openai: OpenAI;
let anthropic: Anthropic;
const corpus = new Map(loadCorpus().map((exchange) => [exchange.file, exchange]));

function fixture(file: string): CorpusExchange {
  const exchange = corpus.get(file);
  if (!exchange) throw new Error(`missing fixture ${file}`);
  return exchange;
}

beforeAll(async () => {
  harness = await startHarness({
    routes: ['openai', 'anthropic'],
    protocol: 'http/protobuf',
    flags: { headerAttribute: ['x-test-case=test_case'] },
  });
  openai = new OpenAI({ apiKey: 'sk-test-not-a-key', baseURL: `${harness.sidecar.url}/openai/v1`, maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: 'sk-ant-test-not-a-key', baseURL: `${harness.sidecar.url}/anthropic`, maxRetries: 0 });
});

afterAll(async () => {
  await harness.close();
});

function tokens(points: ReceivedPoint[], testCase: string, type: 'input' | 'output'): number | undefined {
  return pointsOf(points, METRICS.tokenUsage.name, { test_case: testCase, [ATTR.tokenType]: type })[0]?.sum;
}

async function metricsFor(testCase: string): Promise<ReceivedPoint[]> {
  return harness.metrics((all) => pointsOf(all, METRICS.operationDuration.name, { test_case: testCase }).length > 0);
}

function replay(exchange: CorpusExchange): void {
  harness.provider.enqueue({ status: exchange.response.status, headers: exchange.response.headers, chunks: responseChunks(exchange) });
}

const STREAM: StreamSpec = { model: 'gpt-4o-mini-2024-07-18', words: ['Hello', ' there', '!'], usage: { prompt_tokens: 9, completion_tokens: 3 } };

/** Answers like OpenAI: with usage data only when the request asked for it. */
function enqueueOpenAiLikeStream(): void {
  harness.provider.enqueue((request) => ({
    status: 200,
    headers: { 'content-type': 'text/event-stream; charset=utf-8' },
    chunks: openAiChatStream(STREAM, asksForUsage(request.body)),
  }));
}

describe('openai SDK', () => {
  test('plain chat completion', async () => {
    const exchange = fixture('openai/chat_basic_gpt35.json');
    replay(exchange);
    const completion = await openai.chat.completions.create(
      { model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'Tell me a joke' }] },
      { headers: { 'x-test-case': 'openai-plain' } },
    );
    expect(completion).toEqual(JSON.parse(responseText(exchange)));
    const points = await metricsFor('openai-plain');
    expect(tokens(points, 'openai-plain', 'input')).toBe(15);
    expect(tokens(points, 'openai-plain', 'output')).toBe(31);
  });

  test('stream without include_usage: the client sees no usage, the metrics have it', async () => {
    enqueueOpenAiLikeStream();
    const stream = await openai.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true },
      { headers: { 'x-test-case': 'openai-stream-no-usage' } },
    );
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);

    const upstream = harness.provider.received[harness.provider.received.length - 1];
    expect(upstream && asksForUsage(upstream.body)).toBe(true);
    // Exactly the chunks OpenAI sends when usage was not requested: no usage key, no usage-only chunk.
    const expected = openAiChatStream(STREAM, false)
      .filter((event) => !event.includes('[DONE]'))
      .map((event) => JSON.parse(event.slice('data: '.length)) as unknown);
    expect(chunks).toEqual(expected);
    expect(chunks.some((chunk) => 'usage' in chunk)).toBe(false);

    const points = await metricsFor('openai-stream-no-usage');
    expect(tokens(points, 'openai-stream-no-usage', 'input')).toBe(9);
    expect(tokens(points, 'openai-stream-no-usage', 'output')).toBe(3);
    expect(pointsOf(points, METRICS.timeToFirstChunk.name, { test_case: 'openai-stream-no-usage' })[0]?.count).toBe(1);
    expect(pointsOf(points, METRICS.timePerOutputChunk.name, { test_case: 'openai-stream-no-usage' })[0]?.count).toBe(4);
  });

  test('stream with include_usage: the client gets the usage chunk it asked for', async () => {
    enqueueOpenAiLikeStream();
    const stream = await openai.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } },
      { headers: { 'x-test-case': 'openai-stream-usage' } },
    );
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[chunks.length - 1]?.usage?.prompt_tokens).toBe(9);
    expect(chunks[0]).toHaveProperty('usage', null);
    const points = await metricsFor('openai-stream-usage');
    expect(tokens(points, 'openai-stream-usage', 'output')).toBe(3);
  });

  test('embeddings', async () => {
    const exchange = fixture('openai/embeddings_ada002.json');
    replay(exchange);
    const result = await openai.embeddings.create(
      { model: 'text-embedding-ada-002', input: 'hello', encoding_format: 'float' },
      { headers: { 'x-test-case': 'openai-embeddings' } },
    );
    expect(result.usage.prompt_tokens).toBe(8);
    const points = await metricsFor('openai-embeddings');
    expect(tokens(points, 'openai-embeddings', 'input')).toBe(8);
    expect(tokens(points, 'openai-embeddings', 'output')).toBeUndefined();
  });

  test('responses API stream', async () => {
    const exchange = fixture('openai/responses_stream_text.json');
    replay(exchange);
    const stream = await openai.responses.create(
      { model: 'gpt-4.1-nano', input: 'Tell me a story', stream: true },
      { headers: { 'x-test-case': 'openai-responses' } },
    );
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) if (event.type === 'response.completed') completed = event.response;
    expect(completed?.usage?.output_tokens).toBe(80);
    const points = await metricsFor('openai-responses');
    expect(tokens(points, 'openai-responses', 'output')).toBe(80);
  });

  test('provider errors reach the SDK unchanged', async () => {
    replay(fixture('openai/error_404_model_not_found.json'));
    await expect(
      openai.chat.completions.create(
        { model: 'non-existent-model', messages: [{ role: 'user', content: 'x' }] },
        { headers: { 'x-test-case': 'openai-404' } },
      ),
    ).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    const points = await metricsFor('openai-404');
    expect(pointsOf(points, METRICS.operationDuration.name, { test_case: 'openai-404' })[0]?.attributes[ATTR.errorType]).toBe(
      'model_not_found',
    );
  });
});

describe('anthropic SDK', () => {
  test('plain message with tool use', async () => {
    const exchange = fixture('anthropic/messages_tool_use.json');
    replay(exchange);
    const message = await anthropic.messages.create(
      { model: 'claude-3-5-sonnet-20240620', max_tokens: 1024, messages: [{ role: 'user', content: 'weather?' }] },
      { headers: { 'x-test-case': 'anthropic-plain' } },
    );
    expect(message.usage.input_tokens).toBe(514);
    expect(message.stop_reason).toBe('tool_use');
    const points = await metricsFor('anthropic-plain');
    expect(tokens(points, 'anthropic-plain', 'input')).toBe(514);
    expect(tokens(points, 'anthropic-plain', 'output')).toBe(152);
  });

  test('streamed message with a prompt-cache read', async () => {
    const exchange = fixture('anthropic/messages_stream_prompt_cache_read.json');
    replay(exchange);
    const stream = anthropic.messages.stream(
      { model: 'claude-3-5-sonnet-20240620', max_tokens: 1024, messages: [{ role: 'user', content: 'hi' }] },
      { headers: { 'x-test-case': 'anthropic-stream' } },
    );
    const final = await stream.finalMessage();
    expect(final.usage.output_tokens).toBe(221);
    expect(final.usage.cache_read_input_tokens).toBe(1165);
    const points = await metricsFor('anthropic-stream');
    // Anthropic's input_tokens excludes cache reads; the spec's input count includes them.
    expect(tokens(points, 'anthropic-stream', 'input')).toBe(4 + 1165);
    expect(tokens(points, 'anthropic-stream', 'output')).toBe(221);
  });
});
