import fc from 'fast-check';
import { objectLayout } from '../../src/observe/jsonLayout';
import { documentsOf, eventMembers, LayoutMembers } from '../../src/observe/jsonMembers';
import { setTopLevelMembers } from '../../src/observe/jsonText';
import { NdjsonParser } from '../../src/observe/ndjsonParser';
import { framingFor, ResponseObserver } from '../../src/observe/responseObserver';
import { EventStreamParser } from '../../src/observe/eventStreamParser';
import { SseParser } from '../../src/observe/sseParser';
import { errorTypeFor } from '../../src/proxy/exchange';
import { anthropicDialect } from '../../src/providers/anthropic';
import { cohereDialect } from '../../src/providers/cohere';
import { geminiDialect } from '../../src/providers/gemini';
import { membersOf, parseJson } from '../../src/providers/json';
import { ollamaDialect } from '../../src/providers/ollama';
import { createOpenAiDialect } from '../../src/providers/openai';
import { findProvider } from '../../src/providers/registry';
import type { ProviderDialect, RequestFacts, RequestView, ResponseFacts, StreamEvent, TokenUsage } from '../../src/providers/types';
import { randomChunks } from '../helpers/chunking';
import { withoutMember } from '../helpers/withoutMember';
import { loadCorpus, normalisedTokens, operationOf, responseBytes, ROUTE_FOR_PROVIDER, type CorpusExchange, responseText } from '../helpers/corpus';

/** A body as the observer hands it to the dialect: its bytes, as documents (see documentsOf). */
function readBodyText(dialect: ProviderDialect, text: string, facts: ResponseFacts): void {
  for (const document of documentsOf(Buffer.from(text)) ?? []) dialect.readBody(document, facts);
}

/** `value` as a response body on the wire. */
function readBodyValue(dialect: ProviderDialect, value: unknown, facts: ResponseFacts): void {
  const text = JSON.stringify(value);
  if (text !== undefined) readBodyText(dialect, text, facts);
}

const openai = createOpenAiDialect({ id: 'openai', injectStreamUsage: true });
const openaiAsIs = createOpenAiDialect({ id: 'openai-compatible', injectStreamUsage: false });

const DIALECTS: ReadonlyArray<readonly [string, ProviderDialect]> = [
  ['openai', openai],
  ['openai-compatible', openaiAsIs],
  ['anthropic', anthropicDialect],
  ['gemini', geminiDialect],
  ['cohere', cohereDialect],
  ['ollama', ollamaDialect],
];

/** A view of an already parsed body. */
function view(method: string, path: string, body: unknown = {}): RequestView {
  return { method, path, body: membersOf(body) };
}

/** The view as the proxy builds it from the client's bytes: each member parsed only when the dialect reads it. */
function proxiedView(method: string, path: string, bytes: Buffer): RequestView {
  return { method, path, body: new LayoutMembers(bytes) };
}

function newFacts(): ResponseFacts {
  return { usage: {} };
}

/** toEqual ignores undefined properties; this pins "absent stays absent" (no key or undefined, never 0). */
function definedUsage(usage: TokenUsage): TokenUsage {
  return Object.fromEntries(Object.entries(usage).filter(([, v]) => v !== undefined)) as TokenUsage;
}

function streamEvent(data: string, event?: string): StreamEvent {
  return event === undefined ? { data } : { event, data };
}

/** Feed stream events the way the observer does: each member parsed only when the dialect reads it. */
function readEvents(dialect: ProviderDialect, events: StreamEvent[], facts = newFacts()): { facts: ResponseFacts; content: number } {
  let content = 0;
  for (const event of events) {
    if (dialect.readStreamEvent(event, facts, eventMembers(event.data)).content) content += 1;
  }
  return { facts, content };
}

/** The event's data as the client gets it after the dialect's rewrite, as the observer applies it; undefined when dropped. */
function rewrittenData(dialect: ProviderDialect, data: string): string | undefined {
  const json = eventMembers(data);
  const rewrite = dialect.rewriteInjectedEvent?.(streamEvent(data), json) ?? { action: 'keep' };
  if (rewrite.action === 'drop') return undefined;
  return rewrite.action === 'removeMember' ? (withoutMember(data, rewrite.name) ?? data) : data;
}

type DescribeCase = [string, ProviderDialect, RequestView, RequestFacts | undefined];

describe('describeRequest', () => {
  const cases: DescribeCase[] = [
    // OpenAI and compatible APIs
    ['openai chat', openai, view('POST', '/v1/chat/completions', { model: 'gpt-4o-mini', messages: [] }), { operation: 'chat', requestModel: 'gpt-4o-mini', streaming: false }],
    ['openai chat streaming', openai, view('POST', '/v1/chat/completions', { model: 'gpt-4o', stream: true }), { operation: 'chat', requestModel: 'gpt-4o', streaming: true }],
    ['openai stream must be the boolean true', openai, view('POST', '/v1/chat/completions', { model: 'm', stream: 'true' }), { operation: 'chat', requestModel: 'm', streaming: false }],
    ['openai stream false', openai, view('POST', '/v1/chat/completions', { model: 'm', stream: false }), { operation: 'chat', requestModel: 'm', streaming: false }],
    ['openai legacy completions', openai, view('POST', '/v1/completions', { model: 'davinci-002', stream: true }), { operation: 'text_completion', requestModel: 'davinci-002', streaming: true }],
    ['openai embeddings', openai, view('POST', '/v1/embeddings', { model: 'text-embedding-3-small', input: 'x' }), { operation: 'embeddings', requestModel: 'text-embedding-3-small', streaming: false }],
    ['openai responses', openai, view('POST', '/v1/responses', { model: 'gpt-5-nano', stream: true }), { operation: 'chat', requestModel: 'gpt-5-nano', streaming: true }],
    ['groq path prefix', openaiAsIs, view('POST', '/openai/v1/chat/completions', { model: 'llama3-8b-8192' }), { operation: 'chat', requestModel: 'llama3-8b-8192', streaming: false }],
    ['openrouter path prefix', openai, view('POST', '/api/v1/chat/completions', { model: 'anthropic/claude-4.6-sonnet' }), { operation: 'chat', requestModel: 'anthropic/claude-4.6-sonnet', streaming: false }],
    ['deepseek without /v1', openaiAsIs, view('POST', '/chat/completions', { model: 'deepseek-reasoner', stream: true }), { operation: 'chat', requestModel: 'deepseek-reasoner', streaming: true }],
    ['azure deployment names the model', openai, view('POST', '/openai/deployments/gpt-4o-prod/chat/completions', { messages: [] }), { operation: 'chat', requestModel: 'gpt-4o-prod', streaming: false }],
    ['azure deployment, URL-encoded', openai, view('POST', '/openai/deployments/my%20dep%2Fv2/chat/completions', {}), { operation: 'chat', requestModel: 'my dep/v2', streaming: false }],
    ['azure deployment, malformed escape kept as sent', openai, view('POST', '/openai/deployments/bad%E0%A4/embeddings', {}), { operation: 'embeddings', requestModel: 'bad%E0%A4', streaming: false }],
    ['azure: a model in the body wins over the deployment', openai, view('POST', '/openai/deployments/dep/chat/completions', { model: 'gpt-4o' }), { operation: 'chat', requestModel: 'gpt-4o', streaming: false }],
    ['azure: an empty body model falls back to the deployment', openai, view('POST', '/openai/deployments/dep/completions', { model: '' }), { operation: 'text_completion', requestModel: 'dep', streaming: false }],
    ['openai: a non-string model is no model', openai, view('POST', '/v1/chat/completions', { model: 42 }), { operation: 'chat', requestModel: undefined, streaming: false }],
    ['openai: body not JSON', openai, view('POST', '/v1/chat/completions', undefined), { operation: 'chat', requestModel: undefined, streaming: false }],
    ['openai: body an array', openai, view('POST', '/v1/chat/completions', [{ model: 'x', stream: true }]), { operation: 'chat', requestModel: undefined, streaming: false }],
    ['openai GET', openai, view('GET', '/v1/chat/completions'), undefined],
    ['openai GET of a stored response', openai, view('GET', '/v1/responses/resp_123'), undefined],
    ['openai models list', openai, view('POST', '/v1/models'), undefined],
    ['openai audio', openai, view('POST', '/v1/audio/speech', { model: 'tts-1' }), undefined],
    ['openai cancel a response', openai, view('POST', '/v1/responses/resp_1/cancel'), undefined],
    ['openai trailing segment after completions', openai, view('POST', '/v1/chat/completions/abc'), undefined],
    // Anthropic
    ['anthropic messages', anthropicDialect, view('POST', '/v1/messages', { model: 'claude-opus-4-6', stream: true }), { operation: 'chat', requestModel: 'claude-opus-4-6', streaming: true }],
    ['anthropic messages, not streaming', anthropicDialect, view('POST', '/v1/messages', { model: 'claude-3-5-sonnet-20240620' }), { operation: 'chat', requestModel: 'claude-3-5-sonnet-20240620', streaming: false }],
    ['anthropic legacy complete', anthropicDialect, view('POST', '/v1/complete', { model: 'claude-2.1', stream: false }), { operation: 'text_completion', requestModel: 'claude-2.1', streaming: false }],
    ['anthropic count_tokens', anthropicDialect, view('POST', '/v1/messages/count_tokens', { model: 'claude' }), undefined],
    ['anthropic batches', anthropicDialect, view('POST', '/v1/messages/batches', { requests: [] }), undefined],
    ['anthropic GET', anthropicDialect, view('GET', '/v1/messages'), undefined],
    ['anthropic models', anthropicDialect, view('POST', '/v1/models'), undefined],
    // Gemini and Vertex AI
    ['gemini generateContent', geminiDialect, view('POST', '/v1beta/models/gemini-2.5-flash:generateContent', { contents: [] }), { operation: 'generate_content', requestModel: 'gemini-2.5-flash', streaming: false }],
    ['gemini streamGenerateContent', geminiDialect, view('POST', '/v1beta/models/gemini-3-pro-preview:streamGenerateContent', {}), { operation: 'generate_content', requestModel: 'gemini-3-pro-preview', streaming: true }],
    ['gemini embedContent', geminiDialect, view('POST', '/v1/models/text-embedding-004:embedContent', {}), { operation: 'embeddings', requestModel: 'text-embedding-004', streaming: false }],
    ['gemini batchEmbedContents', geminiDialect, view('POST', '/v1beta/models/gemini-embedding-001:batchEmbedContents', {}), { operation: 'embeddings', requestModel: 'gemini-embedding-001', streaming: false }],
    ['gemini model URL-encoded', geminiDialect, view('POST', '/v1beta/models/gemini%2D2.0%2Dflash%40001:generateContent', {}), { operation: 'generate_content', requestModel: 'gemini-2.0-flash@001', streaming: false }],
    ['gemini malformed escape kept as sent', geminiDialect, view('POST', '/v1beta/models/bad%ZZ:generateContent', {}), { operation: 'generate_content', requestModel: 'bad%ZZ', streaming: false }],
    ['gemini: the path names the model, not the body', geminiDialect, view('POST', '/v1beta/models/gemini-2.5-flash:generateContent', { model: 'other' }), { operation: 'generate_content', requestModel: 'gemini-2.5-flash', streaming: false }],
    [
      'vertex publisher model',
      geminiDialect,
      view('POST', '/v1beta1/projects/p-1/locations/global/publishers/google/models/gemini-3-flash-preview:streamGenerateContent', {}),
      { operation: 'generate_content', requestModel: 'gemini-3-flash-preview', streaming: true },
    ],
    [
      'vertex v1 regional',
      geminiDialect,
      view('POST', '/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash-001:generateContent', {}),
      { operation: 'generate_content', requestModel: 'gemini-2.0-flash-001', streaming: false },
    ],
    ['gemini countTokens', geminiDialect, view('POST', '/v1beta/models/gemini-2.5-flash:countTokens', {}), undefined],
    ['gemini models list', geminiDialect, view('POST', '/v1beta/models', {}), undefined],
    ['gemini GET', geminiDialect, view('GET', '/v1beta/models/gemini-2.5-flash:generateContent'), undefined],
    ['gemini method without a model', geminiDialect, view('POST', '/v1beta/models/:generateContent', {}), undefined],
    // Cohere
    ['cohere v1 chat', cohereDialect, view('POST', '/v1/chat', { model: 'command', stream: true }), { operation: 'chat', requestModel: 'command', streaming: true }],
    ['cohere v2 chat', cohereDialect, view('POST', '/v2/chat', { model: 'command-r' }), { operation: 'chat', requestModel: 'command-r', streaming: false }],
    ['cohere v1 embed', cohereDialect, view('POST', '/v1/embed', { model: 'embed-english-v3.0' }), { operation: 'embeddings', requestModel: 'embed-english-v3.0', streaming: false }],
    ['cohere v2 embed', cohereDialect, view('POST', '/v2/embed', { model: 'embed-v4.0' }), { operation: 'embeddings', requestModel: 'embed-v4.0', streaming: false }],
    ['cohere rerank', cohereDialect, view('POST', '/v2/rerank', { model: 'rerank-v3.5' }), undefined],
    ['cohere v3 chat', cohereDialect, view('POST', '/v3/chat', { model: 'x' }), undefined],
    ['cohere GET', cohereDialect, view('GET', '/v2/chat'), undefined],
    // Ollama native and OpenAI-compatible
    ['ollama chat streams by default', ollamaDialect, view('POST', '/api/chat', { model: 'llama3' }), { operation: 'chat', requestModel: 'llama3', streaming: true }],
    ['ollama chat stream false', ollamaDialect, view('POST', '/api/chat', { model: 'llama3', stream: false }), { operation: 'chat', requestModel: 'llama3', streaming: false }],
    ['ollama chat stream true', ollamaDialect, view('POST', '/api/chat', { model: 'llama3', stream: true }), { operation: 'chat', requestModel: 'llama3', streaming: true }],
    ['ollama generate streams by default', ollamaDialect, view('POST', '/api/generate', { model: 'qwen3' }), { operation: 'text_completion', requestModel: 'qwen3', streaming: true }],
    ['ollama embed never streams', ollamaDialect, view('POST', '/api/embed', { model: 'nomic-embed-text', stream: true }), { operation: 'embeddings', requestModel: 'nomic-embed-text', streaming: false }],
    ['ollama legacy embeddings', ollamaDialect, view('POST', '/api/embeddings', { model: 'nomic-embed-text' }), { operation: 'embeddings', requestModel: 'nomic-embed-text', streaming: false }],
    ['ollama /v1 chat follows OpenAI rules (no default stream)', ollamaDialect, view('POST', '/v1/chat/completions', { model: 'qwen3' }), { operation: 'chat', requestModel: 'qwen3', streaming: false }],
    ['ollama /v1 embeddings', ollamaDialect, view('POST', '/v1/embeddings', { model: 'all-minilm' }), { operation: 'embeddings', requestModel: 'all-minilm', streaming: false }],
    ['ollama tags (GET)', ollamaDialect, view('GET', '/api/tags'), undefined],
    ['ollama GET chat', ollamaDialect, view('GET', '/api/chat'), undefined],
    ['ollama show', ollamaDialect, view('POST', '/api/show', { model: 'llama3' }), undefined],
    ['ollama pull', ollamaDialect, view('POST', '/api/pull', { model: 'llama3' }), undefined],
    ['ollama prototype key is no operation', ollamaDialect, view('POST', '/api/constructor', {}), undefined],
    ['ollama /v1 GET', ollamaDialect, view('GET', '/v1/chat/completions'), undefined],
  ];

  test.each(cases)('%s', (_name, dialect, request, expected) => {
    const facts = dialect.describeRequest(request);
    if (expected === undefined) {
      expect(facts).toBeUndefined();
      return;
    }
    expect(facts).toBeDefined();
    expect(facts?.operation).toBe(expected.operation);
    expect(facts?.requestModel).toBe(expected.requestModel);
    expect(facts?.streaming).toBe(expected.streaming);
  });

  test.each(DIALECTS)('%s: no method but POST is ever recognised, whatever the path', (_id, dialect) => {
    const paths = cases.map(([, , request]) => request.path);
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'post']) {
      for (const path of paths) expect(dialect.describeRequest(view(method, path, { model: 'm', stream: true }))).toBeUndefined();
    }
  });

  test.each(DIALECTS)('%s: arbitrary paths and bodies never throw', (_id, dialect) => {
    const segment = fc.oneof(
      fc.constantFrom('v1', 'v2', 'api', 'chat', 'completions', 'models', 'deployments', 'messages', 'embed', 'm:generateContent', '%', '%E0', '%2F', ':'),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 6 }), fc.jsonValue(), (segments, body) => {
        const facts = dialect.describeRequest(view('POST', `/${segments.join('/')}`, body));
        if (facts) {
          expect(typeof facts.operation).toBe('string');
          expect(typeof facts.streaming).toBe('boolean');
          if (facts.requestModel !== undefined) expect(facts.requestModel.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('request members read in place from the client\'s bytes', () => {
  const requestPaths = ['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/responses', '/openai/deployments/d/chat/completions', '/v1/messages', '/v1/complete', '/v1beta/models/gemini-2.0-flash:streamGenerateContent', '/v2/chat', '/v1/embed', '/api/chat', '/api/generate', '/api/embed'];
  const member = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(true, false, 'gpt-4o', '', { include_usage: true }, { include_usage: false, x: 1 }));
  const anyMembers = fc.dictionary(fc.constantFrom('model', 'stream', 'stream_options', 'messages', 'input', 'prompt', 'n', '__proto__', 'constructor'), member, { maxKeys: 6 });
  // Streaming requests with and without stream_options often enough that the rewrite is exercised.
  const streaming = fc.record(
    { stream: fc.oneof(fc.constant(true), member), stream_options: fc.oneof(fc.constantFrom({ include_usage: true }, { include_usage: false, x: 1 }, { continuous_usage_stats: true }, null), member) },
    { requiredKeys: [] },
  );
  const body = fc.tuple(anyMembers, streaming).map(([some, stream]) => ({ ...some, ...stream }));

  test.each(DIALECTS)('%s: facts and rewrite from the members read in place equal those from the whole body', (_id, dialect) => {
    fc.assert(
      fc.property(fc.constantFrom(...requestPaths), body, (path, object) => {
        const bytes = Buffer.from(JSON.stringify(object));
        const whole = view('POST', path, JSON.parse(bytes.toString('utf8')));
        const proxied = proxiedView('POST', path, bytes);
        const facts = dialect.describeRequest(whole);
        expect(dialect.describeRequest(proxied)).toEqual(facts);
        if (facts) expect(dialect.rewriteRequest?.(proxied, facts)).toEqual(dialect.rewriteRequest?.(whole, facts));
      }),
      { numRuns: 300 },
    );
  });
});

describe('rewriteRequest', () => {
  function rewrite(dialect: ProviderDialect, request: RequestView): ReturnType<NonNullable<ProviderDialect['rewriteRequest']>> {
    const facts = dialect.describeRequest(request);
    expect(facts).toBeDefined();
    return dialect.rewriteRequest?.(request, facts as RequestFacts);
  }

  /** The body the provider receives: the client's bytes with the rewrite applied as the proxy applies it. */
  function rewrittenBody(path: string, body: unknown): unknown {
    const bytes = Buffer.from(JSON.stringify(body));
    const result = rewrite(openai, proxiedView('POST', path, bytes));
    const layout = objectLayout(bytes);
    const edited = result && layout && setTopLevelMembers(bytes, layout, result.setMembers);
    return edited && JSON.parse(edited.toString('utf8'));
  }

  test('streaming chat without stream_options gets include_usage, and the stream is marked for hiding', () => {
    const body = { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] };
    const before = JSON.stringify(body);
    const result = rewrite(openai, view('POST', '/v1/chat/completions', body));
    expect(result).toEqual({ setMembers: { stream_options: { include_usage: true } }, hideInjectedUsage: true });
    expect(rewrittenBody('/v1/chat/completions', body)).toEqual({ ...body, stream_options: { include_usage: true } });
    expect(JSON.stringify(body)).toBe(before); // the client's body object is not mutated
  });

  test('streaming legacy completions get it too', () => {
    const request = view('POST', '/v1/completions', { model: 'davinci-002', stream: true, prompt: 'x' });
    expect(rewrittenBody('/v1/completions', { model: 'davinci-002', stream: true, prompt: 'x' })).toEqual({ model: 'davinci-002', stream: true, prompt: 'x', stream_options: { include_usage: true } });
    expect(rewrite(openai, request)?.hideInjectedUsage).toBe(true);
  });

  test('other stream_options keys are kept; include_usage false is turned on', () => {
    const body = { model: 'm', stream: true, stream_options: { include_usage: false, continuous_usage_stats: true } };
    expect(rewrittenBody('/v1/chat/completions', body)).toEqual({ model: 'm', stream: true, stream_options: { include_usage: true, continuous_usage_stats: true } });
    expect(body.stream_options).toEqual({ include_usage: false, continuous_usage_stats: true });
  });

  test('a non-object stream_options is replaced', () => {
    expect(rewrittenBody('/v1/chat/completions', { model: 'm', stream: true, stream_options: null })).toEqual({ model: 'm', stream: true, stream_options: { include_usage: true } });
  });

  test('Azure deployment paths are rewritten like OpenAI', () => {
    expect(rewrittenBody('/openai/deployments/dep/chat/completions', { stream: true })).toEqual({ stream: true, stream_options: { include_usage: true } });
  });

  const untouched: Array<[string, ProviderDialect, RequestView]> = [
    ['already asked for usage', openai, view('POST', '/v1/chat/completions', { model: 'm', stream: true, stream_options: { include_usage: true } })],
    ['not streaming', openai, view('POST', '/v1/chat/completions', { model: 'm' })],
    ['stream false', openai, view('POST', '/v1/chat/completions', { model: 'm', stream: false })],
    ['stream as a string', openai, view('POST', '/v1/chat/completions', { model: 'm', stream: 'true' })],
    ['Responses API (always reports usage)', openai, view('POST', '/v1/responses', { model: 'gpt-5-nano', stream: true })],
    ['embeddings', openai, view('POST', '/v1/embeddings', { model: 'e', stream: true })],
    ['compatible API that reports usage unasked', openaiAsIs, view('POST', '/v1/chat/completions', { model: 'm', stream: true })],
    ['ollama native chat', ollamaDialect, view('POST', '/api/chat', { model: 'llama3', stream: true })],
  ];

  test.each(untouched)('no rewrite: %s', (_name, dialect, request) => {
    expect(rewrite(dialect, request)).toBeUndefined();
  });

  test('ollama /v1 chat streaming is rewritten like OpenAI', () => {
    const result = rewrite(ollamaDialect, view('POST', '/v1/chat/completions', { model: 'qwen3', stream: true }));
    expect(result).toEqual({ setMembers: { stream_options: { include_usage: true } }, hideInjectedUsage: true });
  });

  test('dialects that never rewrite have no rewriteRequest', () => {
    expect(openaiAsIs.rewriteRequest).toBeUndefined();
    expect(anthropicDialect.rewriteRequest).toBeUndefined();
    expect(geminiDialect.rewriteRequest).toBeUndefined();
    expect(cohereDialect.rewriteRequest).toBeUndefined();
  });

  test('property: the rewritten body differs from the original only in stream_options.include_usage', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }),
        fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 })),
        fc.constantFrom('/v1/chat/completions', '/v1/completions'),
        (extra, streamOptions, path) => {
          const body: Record<string, unknown> = { ...extra, stream: true };
          if (streamOptions !== null) body.stream_options = streamOptions;
          const result = rewrite(openai, view('POST', path, body));
          if (streamOptions?.include_usage === true) {
            expect(result).toBeUndefined();
            return;
          }
          expect(result?.hideInjectedUsage).toBe(true);
          const { stream_options: newOptions, ...rest } = rewrittenBody(path, body) as Record<string, unknown>;
          // As the client's bytes say it (JSON has no -0).
          const sent = JSON.parse(JSON.stringify(body)) as Record<string, unknown>;
          const { stream_options: sentOptions, ...sentRest } = sent;
          expect(rest).toEqual(sentRest);
          expect(newOptions).toEqual({ ...((sentOptions as object | undefined) ?? {}), include_usage: true });
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('rewriteInjectedEvent (OpenAI stream whose usage the sidecar asked for)', () => {
  const rewriteOf = (dialect: ProviderDialect, data: string) => dialect.rewriteInjectedEvent?.(streamEvent(data), eventMembers(data));

  const content =
    '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}],"usage":null}';
  const usageOnly =
    '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}';

  test.each([
    ['openai', openai],
    ['ollama', ollamaDialect],
  ])('%s: drops the usage-only chunk with empty choices', (_id, dialect) => {
    expect(rewriteOf(dialect, usageOnly)).toEqual({ action: 'drop' });
  });

  test('strips "usage":null from a content chunk, byte-exact otherwise', () => {
    expect(rewriteOf(openai, content)).toEqual({ action: 'removeMember', name: 'usage' });
    expect(rewrittenData(openai, content)).toBe(content.replace(',"usage":null', ''));
  });

  test('strips "usage": null written with spaces, first in the object', () => {
    const data = '{ "usage" : null , "choices": [{"index":0,"delta":{"content":"usage"}}] }';
    expect(rewrittenData(openai, data)).toBe('{ "choices": [{"index":0,"delta":{"content":"usage"}}] }');
  });

  test('strips "usage":null from a chunk with empty choices (Azure content-filter preamble)', () => {
    const data = '{"choices":[],"prompt_filter_results":[{"prompt_index":0}],"usage":null}';
    expect(rewrittenData(openai, data)).toBe('{"choices":[],"prompt_filter_results":[{"prompt_index":0}]}');
  });

  test.each([
    ['a real usage object on a content chunk (sent anyway)', '{"choices":[{"index":0,"delta":{"content":"x"}}],"usage":{"prompt_tokens":1,"completion_tokens":1}}'],
    ['a usage-only chunk whose choices key is missing', '{"usage":{"prompt_tokens":1}}'],
    ['[DONE]', '[DONE]'],
    ['a chunk without usage', '{"choices":[{"index":0,"delta":{"content":"x"}}]}'],
    ['usage only nested', '{"choices":[{"index":0,"delta":{"content":"x"},"usage":null}]}'],
    ['an array', '[{"usage":null}]'],
    ['a scalar', '42'],
    ['not JSON', 'data: {"usage": null}'],
  ])('keeps %s', (_name, data) => {
    expect(rewriteOf(openai, data)).toEqual({ action: 'keep' });
  });

  test('replacing never leaves a usage key and keeps every other field', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 6 }).filter((k) => k !== 'usage'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }),
        fc.nat(),
        fc.constantFrom(undefined, 2),
        (object, position, indent) => {
          const entries = Object.entries(object);
          entries.splice(position % (entries.length + 1), 0, ['usage', null]);
          const data = JSON.stringify(Object.fromEntries(entries), null, indent);
          const parsed = JSON.parse(data) as Record<string, unknown>;
          expect(rewriteOf(openai, data)).toEqual({ action: 'removeMember', name: 'usage' });
          const { usage: _usage, ...rest } = parsed;
          expect(JSON.parse(rewrittenData(openai, data) as string)).toEqual(rest);
        },
      ),
      { numRuns: 500 },
    );
  });

  /** The body as the observer hands it to the client, fed in chunks of 1 to `maxChunk` bytes. */
  function clientBytes(body: Buffer, maxChunk: number): Buffer {
    const observer = new ResponseObserver({
      dialect: openai, framing: 'sse', hideInjectedUsage: true, maxBodyBytes: 1 << 20, timeJsonChunks: false,
      onTelemetryError: (stage) => { throw new Error(`telemetry error at ${stage}`); },
    });
    const out = randomChunks(body, maxChunk, maxChunk).map((chunk) => {
      const relayed = observer.relay(chunk);
      observer.catchUp();
      return relayed;
    });
    out.push(observer.endOfBody());
    return Buffer.concat(out);
  }

  function hideUsage(body: string): { text: string } {
    return { text: clientBytes(Buffer.from(body), 61).toString('utf8') };
  }

  const recorded = loadCorpus().find((e) => e.file === 'openai/chat_stream_include_usage_tool_call.json') as CorpusExchange;

  test('a recorded include_usage stream comes out as a stream that never mentions usage, content chunks intact', () => {
    const body = responseText(recorded);
    expect(body).toContain('"usage":null');
    const { text } = hideUsage(body);
    expect(text).not.toContain('"usage"');
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    const before = body.split('\n\n').filter((b) => b.startsWith('data: {'));
    const after = text.split('\n\n').filter((b) => b.startsWith('data: {'));
    expect(after.length).toBe(before.length - 1);
    for (let i = 0; i < after.length; i += 1) {
      const { usage: _usage, ...expected } = JSON.parse((before[i] as string).slice(6)) as Record<string, unknown>;
      expect(JSON.parse((after[i] as string).slice(6))).toEqual(expected);
    }
    // The facts still come from the injected usage.
    const events = body.split('\n\n').filter((b) => b.startsWith('data: ')).map((b) => streamEvent(b.slice(6)));
    const { facts } = readEvents(openai, events);
    expect(definedUsage(facts.usage)).toEqual(definedUsage(normalisedTokens(recorded)));
  });

  test('a stream recorded without include_usage passes through byte for byte', () => {
    const plain = loadCorpus().find((e) => e.file === 'openai/chat_stream_no_usage.json') as CorpusExchange;
    expect(hideUsage(responseText(plain)).text).toBe(responseText(plain));
  });

  test('bytes that are not UTF-8 survive the rewrite: only the usage member is cut, in chunks of any size', () => {
    const invalid = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82]);
    const event = (content: Buffer) => Buffer.concat([Buffer.from('data: {"choices":[{"delta":{"content":"'), content, Buffer.from('"}}],"usage":null}\r\n\r\n')]);
    const body = Buffer.concat([event(invalid), event(Buffer.from('é')), Buffer.from('data: [DONE]\r\n\r\n')]);
    const expected = Buffer.from(body.toString('latin1').split(',"usage":null').join(''), 'latin1');
    for (const size of [1, 7, body.length]) expect(clientBytes(body, size)).toEqual(expected);
  });
});

describe('readBody / readStreamEvent: hand-written payloads', () => {
  test('openai chat body', () => {
    const facts = newFacts();
    readBodyValue(
      openai,
      {
        model: 'gpt-4o-mini-2024-07-18',
        usage: { prompt_tokens: 1149, completion_tokens: 353, prompt_tokens_details: { cached_tokens: 1024 }, completion_tokens_details: { reasoning_tokens: 0 } },
      },
      facts,
    );
    expect(facts).toEqual({ responseModel: 'gpt-4o-mini-2024-07-18', usage: { input: 1149, output: 353, cacheRead: 1024, reasoning: 0 } });
    expect(facts.failed).toBeUndefined();
  });

  test('openai responses body uses input/output names', () => {
    const facts = newFacts();
    readBodyValue(openai, { model: 'gpt-5-nano', error: null, usage: { input_tokens: 10, output_tokens: 20, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 12 } } }, facts);
    expect(definedUsage(facts.usage)).toEqual({ input: 10, output: 20, cacheRead: 0, reasoning: 12 });
    expect(facts.failed).toBeUndefined();
  });

  test('openai error bodies: code, else type, numeric codes as text', () => {
    const cases: Array<[unknown, string | undefined]> = [
      [{ error: { code: 'invalid_api_key', type: 'invalid_request_error' } }, 'invalid_api_key'],
      [{ error: { code: null, type: 'invalid_request_error' } }, 'invalid_request_error'],
      [{ error: { code: 429, message: 'rate limited' } }, '429'],
      [{ error: { message: 'no id' } }, undefined],
    ];
    for (const [body, code] of cases) {
      const facts = newFacts();
      readBodyValue(openai, body, facts);
      expect(facts.failed).toBe(true);
      expect(facts.errorCode).toBe(code);
    }
    const ok = newFacts();
    readBodyValue(openai, { error: null, error_message: 'x' }, ok);
    expect(ok.failed).toBeUndefined();
  });

  test('openai stream: groq x_groq usage, error chunk, Responses events', () => {
    const { facts, content } = readEvents(openai, [
      streamEvent('{"object":"chat.completion.chunk","model":"llama3","choices":[{"delta":{"content":"a"}}]}'),
      streamEvent('{"object":"chat.completion.chunk","choices":[{"delta":{}}],"x_groq":{"usage":{"prompt_tokens":5,"completion_tokens":6}}}'),
      streamEvent('[DONE]'),
    ]);
    expect(content).toBe(2);
    expect(definedUsage(facts.usage)).toEqual({ input: 5, output: 6 });
    expect(facts.responseModel).toBe('llama3');

    const responses = readEvents(openai, [
      streamEvent('{"type":"response.created","response":{"model":"gpt-5","usage":null}}', 'response.created'),
      streamEvent('{"type":"response.output_text.delta","delta":"x"}', 'response.output_text.delta'),
      streamEvent('{"type":"response.output_text.done","text":"x"}', 'response.output_text.done'),
      streamEvent('{"type":"response.completed","response":{"model":"gpt-5-2025","usage":{"input_tokens":3,"output_tokens":4}}}', 'response.completed'),
    ]);
    expect(responses.content).toBe(1);
    expect(responses.facts.responseModel).toBe('gpt-5-2025');
    expect(definedUsage(responses.facts.usage)).toEqual({ input: 3, output: 4 });

    const failed = readEvents(openai, [streamEvent('{"type":"error","code":"server_error","message":"x"}')]);
    expect(failed.facts).toMatchObject({ failed: true, errorCode: 'server_error' });
    const responseFailed = readEvents(openai, [streamEvent('{"type":"response.failed","response":{"error":{"code":"rate_limit_exceeded"}}}')]);
    expect(responseFailed.facts).toMatchObject({ failed: true, errorCode: 'rate_limit_exceeded' });
  });

  test('anthropic stream: message_start usage, then cumulative message_delta replaces non-null fields', () => {
    const { facts, content } = readEvents(anthropicDialect, [
      streamEvent('{"type":"message_start","message":{"model":"claude-opus-4-6","usage":{"input_tokens":4,"cache_read_input_tokens":1165,"cache_creation_input_tokens":0,"output_tokens":1}}}', 'message_start'),
      streamEvent('{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}', 'content_block_start'),
      streamEvent('{"type":"ping"}', 'ping'),
      streamEvent('{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}', 'content_block_delta'),
      streamEvent('{"type":"content_block_stop","index":0}', 'content_block_stop'),
      streamEvent('{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":221}}', 'message_delta'),
      streamEvent('{"type":"message_stop"}', 'message_stop'),
    ]);
    expect(content).toBe(2);
    expect(facts.responseModel).toBe('claude-opus-4-6');
    expect(definedUsage(facts.usage)).toEqual({ input: 4 + 1165, output: 221, cacheRead: 1165, cacheWrite: 0 });
  });

  test('anthropic: errors in body and stream; the type comes from the event name when data has none', () => {
    const body = newFacts();
    readBodyValue(anthropicDialect, { type: 'error', error: { type: 'overloaded_error', message: 'x' } }, body);
    expect(body).toMatchObject({ failed: true, errorCode: 'overloaded_error' });
    const stream = readEvents(anthropicDialect, [streamEvent('{"error":{"type":"api_error"}}', 'error')]);
    expect(stream.facts).toMatchObject({ failed: true, errorCode: 'api_error' });
    expect(readEvents(anthropicDialect, [streamEvent('{"delta":{"text":"x"}}', 'content_block_delta')]).content).toBe(1);
  });

  // Found by the readBody property (seed -1815152911): the sum rounded to 9007199255027784.
  test.each([
    ['anthropic input + cache read + cache write', anthropicDialect, { usage: { input_tokens: 201494, cache_read_input_tokens: Number.MAX_SAFE_INTEGER, cache_creation_input_tokens: 85300 } }],
    ['gemini prompt + tool prompt', geminiDialect, { usageMetadata: { promptTokenCount: Number.MAX_SAFE_INTEGER, toolUsePromptTokenCount: 7 } }],
  ])('regression: %s past 2^53 is not reported (a rounded sum is a count the input did not contain)', (_name, dialect, body) => {
    const facts = newFacts();
    readBodyValue(dialect, body, facts);
    expect(facts.usage.input).toBeUndefined();
  });

  test('gemini: thoughts are added to output, tool prompt to input; arrays of responses are read in order', () => {
    const facts = newFacts();
    readBodyValue(
      geminiDialect,
      [
        { candidates: [{}], modelVersion: 'gemini-2.5-flash', usageMetadata: { promptTokenCount: 10 } },
        { candidates: [{}], usageMetadata: { promptTokenCount: 10, toolUsePromptTokenCount: 5, candidatesTokenCount: 7, thoughtsTokenCount: 30, cachedContentTokenCount: 4 } },
      ],
      facts,
    );
    expect(facts.responseModel).toBe('gemini-2.5-flash');
    expect(definedUsage(facts.usage)).toEqual({ input: 15, output: 37, cacheRead: 4, reasoning: 30 });
  });

  test('gemini: a response with only thoughts reports them as output (zero fields are omitted on the wire)', () => {
    const facts = newFacts();
    readBodyValue(geminiDialect, { usageMetadata: { promptTokenCount: 3, thoughtsTokenCount: 8 } }, facts);
    expect(definedUsage(facts.usage)).toEqual({ input: 3, output: 8, reasoning: 8 });
  });

  test('gemini: error status, stream content only with candidates', () => {
    const facts = newFacts();
    readBodyValue(geminiDialect, { error: { code: 400, status: 'INVALID_ARGUMENT', message: 'x' } }, facts);
    expect(facts).toMatchObject({ failed: true, errorCode: 'INVALID_ARGUMENT' });
    expect(readEvents(geminiDialect, [streamEvent('{"candidates":[{"content":{}}]}'), streamEvent('{"candidates":[],"usageMetadata":{}}')]).content).toBe(1);
  });

  test('cohere: billed units win; v2 message-end and v1 stream-end', () => {
    const body = newFacts();
    readBodyValue(cohereDialect, { usage: { billed_units: { input_tokens: 5, output_tokens: 7 }, tokens: { input_tokens: 70, output_tokens: 7 } } }, body);
    expect(definedUsage(body.usage)).toEqual({ input: 5, output: 7 });
    const v2 = readEvents(cohereDialect, [
      streamEvent('{"type":"content-delta","delta":{"message":{"content":{"text":"x"}}}}', 'content-delta'),
      streamEvent('{"type":"message-end","delta":{"usage":{"billed_units":{"input_tokens":1,"output_tokens":2}}}}', 'message-end'),
    ]);
    expect(v2.content).toBe(1);
    expect(definedUsage(v2.facts.usage)).toEqual({ input: 1, output: 2 });
    const v1 = readEvents(cohereDialect, [
      streamEvent('{"is_finished":false,"event_type":"text-generation","text":"x"}'),
      streamEvent('{"is_finished":true,"event_type":"stream-end","response":{"meta":{"billed_units":{"input_tokens":3,"output_tokens":4}}}}'),
    ]);
    expect(v1.content).toBe(1);
    expect(definedUsage(v1.facts.usage)).toEqual({ input: 3, output: 4 });
  });

  test('ollama native: counts, done line is not content, string errors carry no code', () => {
    const { facts, content } = readEvents(ollamaDialect, [
      streamEvent('{"model":"llama3","message":{"role":"assistant","content":"Hi"},"done":false}'),
      streamEvent('{"model":"llama3","message":{"role":"assistant","content":""},"done":true,"prompt_eval_count":26,"eval_count":298}'),
    ]);
    expect(content).toBe(1);
    expect(facts.responseModel).toBe('llama3');
    expect(definedUsage(facts.usage)).toEqual({ input: 26, output: 298 });
    const error = newFacts();
    readBodyValue(ollamaDialect, { error: "model 'x' not found" }, error);
    expect(error.failed).toBe(true);
    expect(error.errorCode).toBeUndefined();
  });

  test('ollama: an error line mid-stream or an unparseable line is not model output', () => {
    const error = readEvents(ollamaDialect, [streamEvent('{"error":"an error was encountered while running the model"}')]);
    expect(error.content).toBe(0);
    expect(error.facts.failed).toBe(true);
    expect(readEvents(ollamaDialect, [streamEvent('not json')]).content).toBe(0);
  });

  test('ollama /v1: OpenAI-style bodies, chunks and errors are read the OpenAI way', () => {
    const body = newFacts();
    readBodyValue(ollamaDialect, { object: 'chat.completion', model: 'qwen3', usage: { prompt_tokens: 2, completion_tokens: 3 } }, body);
    expect(definedUsage(body.usage)).toEqual({ input: 2, output: 3 });
    const error = newFacts();
    readBodyValue(ollamaDialect, { error: { message: 'model "x" not found, try pulling it first', type: 'not_found_error', param: null, code: null } }, error);
    expect(error).toMatchObject({ failed: true, errorCode: 'not_found_error' });
    const streamError = readEvents(ollamaDialect, [streamEvent('{"error":{"message":"boom","type":"api_error","param":null,"code":null}}')]);
    expect(streamError.content).toBe(0);
    expect(streamError.facts).toMatchObject({ failed: true, errorCode: 'api_error' });
    const chunks = readEvents(ollamaDialect, [
      streamEvent('{"object":"chat.completion.chunk","model":"qwen3","choices":[{"delta":{"content":"x"}}]}'),
      streamEvent('{"object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":4,"completion_tokens":1}}'),
      streamEvent('[DONE]'),
    ]);
    expect(chunks.content).toBe(1);
    expect(definedUsage(chunks.facts.usage)).toEqual({ input: 4, output: 1 });
  });

  test.each(DIALECTS)('%s: invalid token counts are "not reported", never zero or garbage', (_id, dialect) => {
    const bad = [-1, 1.5, '12', null, true, Number.POSITIVE_INFINITY, Number.NaN, 1e308, 2 ** 60, {}, []];
    for (const value of bad) {
      const facts = newFacts();
      const usage = {
        prompt_tokens: value, completion_tokens: value, input_tokens: value, output_tokens: value,
        cache_read_input_tokens: value, cache_creation_input_tokens: value,
        prompt_tokens_details: { cached_tokens: value }, completion_tokens_details: { reasoning_tokens: value },
      };
      const gemini = { promptTokenCount: value, candidatesTokenCount: value, thoughtsTokenCount: value, cachedContentTokenCount: value, toolUsePromptTokenCount: value };
      const payload = { usage: { ...usage, billed_units: usage }, usageMetadata: gemini, meta: { billed_units: usage }, prompt_eval_count: value, eval_count: value };
      readBodyValue(dialect, payload, facts);
      readEvents(dialect, [streamEvent(JSON.stringify({ type: 'message_start', message: { usage } }))], facts);
      dialect.readStreamEvent(streamEvent('x'), facts, membersOf({ type: 'message_delta', usage }));
      expect(definedUsage(facts.usage)).toEqual({});
    }
  });
});

describe('corpus: each recorded exchange read by its dialect', () => {
  const exchanges = loadCorpus().filter((e) => ROUTE_FOR_PROVIDER[e.provider] !== undefined);

  test.each(exchanges.map((e) => [e.file, e] as const))('%s', (_file, exchange) => {
    const dialect = findProvider(ROUTE_FOR_PROVIDER[exchange.provider] as string)?.dialect as ProviderDialect;
    const [path] = exchange.request.path.split('?') as [string];
    const bytes = Buffer.from(JSON.stringify(exchange.request.body ?? null));
    const facts = dialect.describeRequest(proxiedView(exchange.request.method, path, bytes));
    expect(facts?.operation).toBe(operationOf(exchange));
    expect(facts?.requestModel).toBe(exchange.expected.request_model ?? undefined);
    if (exchange.response.status < 400) expect(facts?.streaming).toBe(exchange.stream);

    const response = newFacts();
    const framing = framingFor(exchange.response.status, exchange.response.headers['content-type']);
    dialect.readHeaders?.(exchange.response.headers, response);
    if (framing === 'json') {
      readBodyText(dialect, responseBytes(exchange).toString('utf8'), response);
    } else {
      const parser = framing === 'sse' ? new SseParser() : framing === 'eventstream' ? new EventStreamParser() : new NdjsonParser();
      const bytes = responseBytes(exchange);
      readEvents(dialect, [...parser.push(bytes), ...parser.end()], response);
    }
    expect(response.responseModel).toBe(exchange.expected.response_model ?? undefined);
    // The exchange drops output tokens for embeddings (Mistral reports completion_tokens: 0).
    const usage = facts?.operation === 'embeddings' ? { ...response.usage, output: undefined } : response.usage;
    expect(definedUsage(usage)).toEqual(definedUsage(normalisedTokens(exchange)));
    const errorType = errorTypeFor({ kind: 'completed' }, exchange.response.status, response.failed === true, response.errorCode);
    expect(errorType).toBe(exchange.expected.error_type ?? undefined);
  });
});

describe('properties: untrusted payloads', () => {
  /** Every number anywhere in a value (strings are not numbers). */
  /** Every number written in `text`, valid JSON or not. */
  function numbersInText(text: string): number[] {
    return (text.match(/-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g) ?? []).map(Number);
  }

  function numbersIn(value: unknown, into: number[] = []): number[] {
    if (typeof value === 'number') into.push(value);
    else if (Array.isArray(value)) for (const item of value) numbersIn(item, into);
    else if (typeof value === 'object' && value !== null) for (const item of Object.values(value)) numbersIn(item, into);
    return into;
  }

  /**
   * A reported count must come from the input: one of its numbers, or (where the spec sums
   * provider fields: Anthropic input + cache, Gemini prompt + tool prompt, candidates + thoughts)
   * a sum of two or three of them.
   */
  function explainable(count: number, numbers: number[]): boolean {
    const pool = numbers.filter((n) => Number.isInteger(n) && n >= 0);
    if (pool.includes(count)) return true;
    for (let i = 0; i < pool.length; i += 1) {
      for (let j = i + 1; j < pool.length; j += 1) {
        const a = pool[i] as number;
        const b = pool[j] as number;
        if (a + b === count) return true;
        for (let k = j + 1; k < pool.length; k += 1) if (a + b + (pool[k] as number) === count) return true;
      }
    }
    return false;
  }

  function checkFacts(facts: ResponseFacts, inputs: unknown[]): void {
    const numbers = inputs.flatMap((input) => numbersIn(input));
    for (const [key, value] of Object.entries(facts.usage)) {
      if (value === undefined) continue;
      if (typeof value !== 'number' || !Number.isFinite(value) || !Number.isInteger(value) || value < 0) {
        throw new Error(`usage.${key} = ${String(value)} is not a finite non-negative integer`);
      }
      if (!explainable(value, numbers)) throw new Error(`usage.${key} = ${value} appears nowhere in the input (${numbers.join(', ')})`);
    }
    if (facts.responseModel !== undefined) {
      expect(typeof facts.responseModel).toBe('string');
      expect(facts.responseModel.length).toBeGreaterThan(0);
    }
    if (facts.errorCode !== undefined) {
      expect(typeof facts.errorCode).toBe('string');
      expect(facts.failed).toBe(true);
    }
  }

  const vocabulary = [
    'usage', 'prompt_tokens', 'completion_tokens', 'input_tokens', 'output_tokens', 'total_tokens',
    'prompt_tokens_details', 'completion_tokens_details', 'input_tokens_details', 'output_tokens_details',
    'cached_tokens', 'cache_write_tokens', 'reasoning_tokens', 'x_groq', 'choices', 'type', 'response',
    'message', 'delta', 'meta', 'billed_units', 'usageMetadata', 'promptTokenCount', 'candidatesTokenCount',
    'thoughtsTokenCount', 'toolUsePromptTokenCount', 'cachedContentTokenCount', 'candidates', 'modelVersion',
    'model', 'error', 'code', 'status', 'object', 'done', 'prompt_eval_count', 'eval_count',
    'cache_read_input_tokens', 'cache_creation_input_tokens', 'event_type', '__proto__', 'constructor',
  ];
  const typeValues = [
    'message_start', 'message_delta', 'content_block_delta', 'error', 'response.completed', 'response.output_text.delta',
    'response.failed', 'message-end', 'stream-end', 'content-delta', 'text-generation', 'chat.completion.chunk',
  ];
  const leaf = fc.oneof(
    fc.integer({ min: -5, max: 1_000_000 }),
    fc.constantFrom(0, -0, 0.5, 1e21, 1e308, Number.MAX_SAFE_INTEGER, 2 ** 53, 2 ** 60),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom(...typeValues),
    fc.constantFrom('', '12', 'gpt-4o'),
    fc.string({ maxLength: 5 }),
    fc.boolean(),
    fc.constant(null),
  );
  const { payload } = fc.letrec<{ payload: unknown }>((tie) => ({
    payload: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('payload'), { maxLength: 3 }),
      fc.dictionary(fc.oneof(fc.constantFrom(...vocabulary), fc.string({ maxLength: 4 })), tie('payload'), { maxKeys: 6 }),
    ),
  }));
  // Provider-shaped payloads: every usage field the dialects read, each maybe present, with hostile values.
  const countLike = fc.oneof(fc.nat({ max: 1_000_000 }), fc.constantFrom(1e308, 2 ** 60, Number.MAX_SAFE_INTEGER, -1, 0.5, -0, '7', null), leaf);
  const optional = <T extends Record<string, fc.Arbitrary<unknown>>>(shape: T) => fc.record(shape, { requiredKeys: [] });
  const openAiUsage = optional({
    prompt_tokens: countLike, completion_tokens: countLike, input_tokens: countLike, output_tokens: countLike,
    prompt_tokens_details: optional({ cached_tokens: countLike, cache_write_tokens: countLike }),
    completion_tokens_details: optional({ reasoning_tokens: countLike }),
    input_tokens_details: optional({ cached_tokens: countLike }),
    output_tokens_details: optional({ reasoning_tokens: countLike }),
  });
  const anthropicUsage = optional({
    input_tokens: countLike, output_tokens: countLike, cache_read_input_tokens: countLike, cache_creation_input_tokens: countLike,
  });
  const geminiUsage = optional({
    promptTokenCount: countLike, candidatesTokenCount: countLike, thoughtsTokenCount: countLike,
    toolUsePromptTokenCount: countLike, cachedContentTokenCount: countLike,
  });
  const billed = optional({ billed_units: optional({ input_tokens: countLike, output_tokens: countLike }) });
  const shaped = optional({
    type: fc.constantFrom(...typeValues),
    event_type: fc.constantFrom(...typeValues),
    object: fc.constantFrom('chat.completion', 'chat.completion.chunk'),
    model: leaf,
    modelVersion: leaf,
    choices: fc.array(payload, { maxLength: 2 }),
    candidates: fc.array(payload, { maxLength: 2 }),
    usage: fc.oneof(openAiUsage, anthropicUsage, billed, fc.constant(null)),
    x_groq: optional({ usage: openAiUsage }),
    response: optional({ model: leaf, usage: openAiUsage, meta: billed, error: payload }),
    message: optional({ model: leaf, usage: anthropicUsage }),
    delta: optional({ usage: billed }),
    meta: billed,
    usageMetadata: geminiUsage,
    prompt_eval_count: countLike,
    eval_count: countLike,
    done: fc.boolean(),
    error: fc.oneof(leaf, optional({ code: leaf, type: leaf, status: leaf, message: leaf })),
  });
  const jsonInput = fc.oneof(shaped, shaped, payload, fc.jsonValue());
  const eventName = fc.option(fc.constantFrom(...typeValues, 'ping', 'x'), { nil: undefined });

  describe.each(DIALECTS)('%s', (_id, dialect) => {
    test('readBody on arbitrary JSON values never throws and reports only counts taken from the input', () => {
      fc.assert(
        fc.property(fc.array(jsonInput, { minLength: 1, maxLength: 3 }), (bodies) => {
          const facts = newFacts();
          for (const body of bodies) readBodyValue(dialect, body, facts);
          checkFacts(facts, bodies);
        }),
        { numRuns: 400 },
      );
    });

    test('readStreamEvent on arbitrary parsed events never throws and reports only counts taken from the input', () => {
      fc.assert(
        fc.property(fc.array(fc.tuple(jsonInput, eventName), { minLength: 1, maxLength: 6 }), (events) => {
          const facts = newFacts();
          const parsedValues: unknown[] = [];
          for (const [value, name] of events) {
            const data = JSON.stringify(value) ?? 'null';
            const parsed = JSON.parse(data) as unknown;
            parsedValues.push(parsed);
            const result = dialect.readStreamEvent(streamEvent(data, name), facts, eventMembers(data));
            expect(typeof result.content).toBe('boolean');
          }
          checkFacts(facts, parsedValues);
        }),
        { numRuns: 400 },
      );
    });

    test('arbitrary strings as event data or body never throw and report nothing that is not in them', () => {
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.oneof(fc.string(), fc.constantFrom('[DONE]', '', 'null', '{"usage":{"prompt_tokens":3}}')), eventName), { maxLength: 5 }), (events) => {
          const facts = newFacts();
          const parsedValues: unknown[] = [];
          for (const [data, name] of events) {
            const parsed = data === '[DONE]' ? undefined : parseJson(data);
            // Members are read one by one, so a count may come from text that is not valid JSON as a whole.
            parsedValues.push(parsed, numbersInText(data));
            dialect.readStreamEvent(streamEvent(data, name), facts, eventMembers(data));
            readBodyText(dialect, data, facts);
            readBodyValue(dialect, parsed, facts);
            rewrittenData(dialect, data);
          }
          checkFacts(facts, parsedValues);
        }),
        { numRuns: 400 },
      );
    });

    test('an event read member by member gives the facts, content flag and rewrite of a whole parse', () => {
      fc.assert(
        fc.property(fc.array(fc.tuple(jsonInput, eventName, fc.constantFrom(undefined, 2)), { minLength: 1, maxLength: 6 }), (events) => {
          const lazy = newFacts();
          const whole = newFacts();
          for (const [value, name, indent] of events) {
            const data = JSON.stringify(value, null, indent) ?? 'null';
            const event = streamEvent(data, name);
            const parsedMembers = membersOf(JSON.parse(data));
            expect(dialect.readStreamEvent(event, lazy, eventMembers(data))).toEqual(dialect.readStreamEvent(event, whole, parsedMembers));
            expect(dialect.rewriteInjectedEvent?.(event, eventMembers(data))).toEqual(dialect.rewriteInjectedEvent?.(event, parsedMembers));
          }
          expect(lazy).toEqual(whole);
        }),
        { numRuns: 400 },
      );
    });

    test('rewriteInjectedEvent on arbitrary events never throws and a replacement is a smaller valid JSON object', () => {
      fc.assert(
        fc.property(jsonInput, (value) => {
          const data = JSON.stringify(value) ?? 'null';
          const result = rewrittenData(dialect, data);
          if (result !== undefined && result !== data) {
            expect(result.length).toBeLessThan(data.length);
            expect(JSON.parse(result)).not.toHaveProperty('usage');
          }
        }),
        { numRuns: 300 },
      );
    });
  });
});
