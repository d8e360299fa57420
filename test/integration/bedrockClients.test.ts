/**
 * The official clients pointed at the sidecar as an app would point them (the endpoint only), a
 * fake Bedrock behind it that checks every SigV4 signature with another implementation (aws4)
 * and answers with recorded Bedrock exchanges: `@aws-sdk/client-bedrock-runtime` with its default
 * HTTP/2 handler and with the HTTP/1.1 one, and boto3. Each result must equal what the same
 * client gets calling the fake directly, and the sidecar's metrics must carry the exact tokens.
 * The app signs with keys of its own; the sidecar re-signs with the pod's.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
  type BedrockRuntimeClientConfig,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { RunningSidecar } from '../../src/sidecar';
import { ATTR, METRICS } from '../../src/telemetry/names';
import { loadCorpus, normalisedTokens, responseChunks, type CorpusExchange } from '../helpers/corpus';
import { BEDROCK_REGION as REGION, startBedrockSidecar, type BedrockSidecar } from '../helpers/bedrockSidecar';
import { FakeKeyRing, type FakeBedrock, type ReceivedSignedRequest } from '../helpers/fakeAws';
import { pointsOf } from '../helpers/harness';
import type { OtlpReceiver } from '../helpers/otlpReceiver';

jest.setTimeout(120_000);
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const MODEL = 'anthropic.claude-3-sonnet-20240229-v1:0';
const REPO = path.resolve(__dirname, '../..');
const corpus = new Map(loadCorpus().map((exchange) => [exchange.file, exchange]));
/** The recorded answer for each operation. */
const ANSWERS: Record<string, CorpusExchange> = {
  converse: corpus.get('aws_bedrock/converse_claude45_cache_read.json') as CorpusExchange,
  'converse-stream': corpus.get('aws_bedrock/converse_stream_claude3_tool_use.json') as CorpusExchange,
  invoke: corpus.get('aws_bedrock/invoke_claude3_sonnet_messages.json') as CorpusExchange,
  'invoke-with-response-stream': corpus.get('aws_bedrock/invoke_stream_claude3_sonnet.json') as CorpusExchange,
};

const keys = new FakeKeyRing();
const pod = keys.add({ accessKeyId: 'AKIAPODIDENTITY0001', secretAccessKey: 'pod-secret-key', sessionToken: 'pod-session-token' });
const app = keys.add({ accessKeyId: 'AKIAAPPIDENTITY0001', secretAccessKey: 'app-secret-key' });

let setup: BedrockSidecar;
let fake: FakeBedrock;
let receiver: OtlpReceiver;
let sidecar: RunningSidecar;

function operationOf(request: ReceivedSignedRequest): string {
  return /\/([a-z-]+)$/.exec(request.path.split('?')[0] ?? '')?.[1] ?? '';
}

beforeAll(async () => {
  setup = await startBedrockSidecar({
    keys,
    awsCredentials: async () => pod,
    answer: (request) => {
      const exchange = ANSWERS[operationOf(request)];
      if (!exchange) return { status: 404, headers: { 'content-type': 'application/json' }, chunks: ['{"message":"no such operation"}'] };
      return { status: exchange.response.status, headers: exchange.response.headers, chunks: responseChunks(exchange) };
    },
    flags: { headerAttribute: ['x-test-case=test_case'] },
  });
  ({ fake, sidecar, receiver } = setup);
});

afterAll(async () => {
  await setup?.close();
});

type Handler = 'http2' | 'http1';

function client(endpoint: string, handler: Handler, testCase: string): BedrockRuntimeClient {
  const config: BedrockRuntimeClientConfig = { region: REGION, endpoint, credentials: app, maxAttempts: 1 };
  if (handler === 'http1') config.requestHandler = new NodeHttpHandler();
  const made = new BedrockRuntimeClient(config);
  made.middlewareStack.add((next) => async (args) => {
    const request = args.request as { headers: Record<string, string> };
    request.headers['x-test-case'] = testCase;
    return next(args);
  }, { step: 'build', name: 'testCase' });
  return made;
}

/** Every result without its $metadata (request ids and attempts differ between the two paths). */
async function callAll(endpoint: string, handler: Handler, testCase: string): Promise<Record<string, unknown>> {
  const bedrock = client(endpoint, handler, testCase);
  const messages = [{ role: 'user' as const, content: [{ text: 'Tell me a joke about opentelemetry' }] }];
  const body = JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 200, messages: [{ role: 'user', content: [{ type: 'text', text: 'Tell me a joke' }] }] });
  try {
    const { $metadata: _converse, ...converse } = await bedrock.send(new ConverseCommand({ modelId: MODEL, messages }));
    const converseStream: unknown[] = [];
    const streamed = await bedrock.send(new ConverseStreamCommand({ modelId: MODEL, messages }));
    for await (const event of streamed.stream ?? []) converseStream.push(event);
    const invoked = await bedrock.send(new InvokeModelCommand({ modelId: MODEL, body, contentType: 'application/json' }));
    const invokeStream: unknown[] = [];
    const chunks = await bedrock.send(new InvokeModelWithResponseStreamCommand({ modelId: MODEL, body, contentType: 'application/json' }));
    for await (const event of chunks.body ?? []) invokeStream.push(JSON.parse(Buffer.from(event.chunk?.bytes ?? []).toString('utf8')));
    return { converse, converseStream, invoke: JSON.parse(Buffer.from(invoked.body).toString('utf8')), invokeStream };
  } finally {
    bedrock.destroy();
  }
}

describe.each<Handler>(['http2', 'http1'])('@aws-sdk/client-bedrock-runtime over %s', (handler) => {
  test('the four operations give through the sidecar exactly what they give directly, each re-signed with the pod identity', async () => {
    // The fake speaks HTTP/1.1 only: the direct call that both are compared with goes over HTTP/1.1.
    const direct = await callAll(fake.url, 'http1', `direct-${handler}`);
    const before = fake.received.length;
    const proxied = await callAll(`${sidecar.url}/bedrock`, handler, `sdk-${handler}`);
    expect(proxied).toEqual(direct);
    const forwarded = fake.received.slice(before);
    expect(forwarded).toHaveLength(4);
    for (const request of forwarded) {
      expect(request.verdict).toEqual({ ok: true, accessKeyId: pod.accessKeyId });
      // The app's own signature and key never reach the provider.
      expect(JSON.stringify(request.headers)).not.toContain(app.accessKeyId);
    }
  });

  test('the metrics carry each operation with its exact tokens', async () => {
    const testCase = `sdk-${handler}`;
    const deadline = Date.now() + 10_000;
    let points = receiver.latest();
    while (pointsOf(points, METRICS.operationDuration.name, { test_case: testCase }).reduce((n, p) => n + (p.count ?? 0), 0) < 4 && Date.now() < deadline) {
      await sidecar.telemetry.flush();
      points = receiver.latest();
    }
    const tokens = (type: string): number => pointsOf(points, METRICS.tokenUsage.name, { test_case: testCase, [ATTR.tokenType]: type }).reduce((n, p) => n + (p.sum ?? 0), 0);
    const expected = Object.values(ANSWERS).map(normalisedTokens);
    expect(tokens('input')).toBe(expected.reduce((n, t) => n + (t.input ?? 0), 0));
    expect(tokens('output')).toBe(expected.reduce((n, t) => n + (t.output ?? 0), 0));
    const streams = pointsOf(points, METRICS.timeToFirstChunk.name, { test_case: testCase });
    expect(streams.reduce((n, p) => n + (p.count ?? 0), 0)).toBe(2);
    for (const point of pointsOf(points, METRICS.operationDuration.name, { test_case: testCase })) {
      expect(point.attributes).toMatchObject({ [ATTR.providerName]: 'aws.bedrock', [ATTR.requestModel]: MODEL });
      expect(point.attributes[ATTR.errorType]).toBeUndefined();
    }
  });
});

function runBoto3(endpoint: string, python: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [path.join(REPO, 'test/python/bedrock_client.py'), MODEL], {
      env: {
        PATH: process.env.PATH ?? '',
        AWS_ENDPOINT_URL_BEDROCK_RUNTIME: endpoint,
        AWS_ACCESS_KEY_ID: app.accessKeyId,
        AWS_SECRET_ACCESS_KEY: app.secretAccessKey,
        AWS_REGION: REGION,
        AWS_DEFAULT_REGION: REGION,
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (out += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (err += text));
    child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`boto3 exited ${code}: ${err}`))));
  });
}

test('boto3 through AWS_ENDPOINT_URL_BEDROCK_RUNTIME: the same four results as directly', async () => {
  const python = path.join(REPO, '.cache/python-env/bin/python');
  const direct = JSON.parse(await runBoto3(fake.url, python)) as Record<string, unknown>;
  const before = fake.received.length;
  const proxied = JSON.parse(await runBoto3(`${sidecar.url}/bedrock`, python)) as Record<string, unknown>;
  expect(Object.keys(direct).sort()).toEqual(['converse', 'converse_stream', 'invoke_model', 'invoke_model_with_response_stream']);
  expect(proxied).toEqual(direct);
  expect(fake.received.slice(before).map((request) => request.verdict)).toEqual(Array.from({ length: 4 }, () => ({ ok: true, accessKeyId: pod.accessKeyId })));
});
