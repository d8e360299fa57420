/**
 * What happens around the signature on a Bedrock route: no credentials (an answer in Bedrock's
 * shape, counted, one log line for any number of calls), a body too large to sign, a Bedrock API
 * key (Bearer) passed through unsigned, and credentials that expire while a long stream runs.
 */
import type { AwsCredentials } from '../../src/aws/credentials';
import { ATTR, METRICS } from '../../src/telemetry/names';
import { loadCorpus, responseChunks, type CorpusExchange } from '../helpers/corpus';
import { startBedrockSidecar, type BedrockSidecar } from '../helpers/bedrockSidecar';
import { FakeKeyRing } from '../helpers/fakeAws';
import { pointsOf } from '../helpers/harness';

jest.setTimeout(60_000);

const CONVERSE = '/model/anthropic.claude-3-sonnet-20240229-v1%3A0/converse';
const STREAM = '/model/anthropic.claude-3-sonnet-20240229-v1%3A0/converse-stream';
const corpus = new Map(loadCorpus().map((exchange) => [exchange.file, exchange]));
const converse = corpus.get('aws_bedrock/converse_claude45_cache_read.json') as CorpusExchange;
const stream = corpus.get('aws_bedrock/converse_stream_claude3_tool_use.json') as CorpusExchange;

function setUp(keys: FakeKeyRing, awsCredentials: () => Promise<AwsCredentials>, flags: Record<string, string> = {}, pauseMs = 0): Promise<BedrockSidecar> {
  return startBedrockSidecar({
    keys,
    awsCredentials,
    flags,
    answer: (request) => {
      const exchange = request.path.endsWith('/converse-stream') ? stream : converse;
      return { status: exchange.response.status, headers: exchange.response.headers, chunks: responseChunks(exchange), pauseMs };
    },
  });
}

async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Headers }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'AWS4-HMAC-SHA256 Credential=AKIAAPP/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=00', ...headers }, body });
  return { status: response.status, body: await response.text(), headers: response.headers };
}

const MESSAGES = JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'Hi' }] }] });

test('no credentials: every call gets a 502 in Bedrock\'s shape naming the cause, is recorded, and the log has one line', async () => {
  let asked = 0;
  const setup = await setUp(new FakeKeyRing(), async () => {
    asked += 1;
    throw new Error('Could not load credentials from any providers');
  });
  try {
    const answers = [];
    for (let index = 0; index < 5; index += 1) answers.push(await post(`${setup.sidecar.url}/bedrock${CONVERSE}`, MESSAGES));
    for (const answer of answers) {
      expect(answer.status).toBe(502);
      expect(JSON.parse(answer.body)).toEqual({ message: 'genai-sidecar: route "bedrock" has no AWS credentials to sign it with (see the sidecar\'s log)', __type: 'aws_credentials_unavailable' });
    }
    expect(setup.fake.received).toHaveLength(0);
    expect(asked).toBeGreaterThanOrEqual(1);
    const warnings = setup.logs.filter((line) => line.includes('no AWS credentials'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('Could not load credentials from any providers');
    await setup.sidecar.telemetry.flush();
    const calls = pointsOf(setup.receiver.latest(), METRICS.operationDuration.name, { [ATTR.errorType]: 'request_not_signed' });
    expect(calls.reduce((n, p) => n + (p.count ?? 0), 0)).toBe(5);
    expect(calls[0]?.attributes).toMatchObject({ [ATTR.providerName]: 'aws.bedrock', [ATTR.requestModel]: 'anthropic.claude-3-sonnet-20240229-v1:0' });
  } finally {
    await setup.close();
  }
});

test('a body larger than --max-body-bytes cannot be signed: 413, recorded, nothing sent', async () => {
  const keys = new FakeKeyRing();
  const pod = keys.add({ accessKeyId: 'AKIAPOD0000000000001', secretAccessKey: 'pod-secret' });
  const setup = await setUp(keys, async () => pod, { maxBodyBytes: '1024' });
  try {
    const answer = await post(`${setup.sidecar.url}/bedrock${CONVERSE}`, JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'x'.repeat(4096) }] }] }));
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).__type).toBe('request_not_signed');
    expect(setup.fake.received).toHaveLength(0);
    // A small one on the same sidecar goes through, signed.
    expect((await post(`${setup.sidecar.url}/bedrock${CONVERSE}`, MESSAGES)).status).toBe(200);
    expect(setup.fake.received.map((request) => request.verdict)).toEqual([{ ok: true, accessKeyId: pod.accessKeyId }]);
  } finally {
    await setup.close();
  }
});

test('a Bedrock API key (Authorization: Bearer) travels on as the app sent it, unsigned', async () => {
  const keys = new FakeKeyRing();
  const setup = await setUp(keys, async () => keys.add({ accessKeyId: 'AKIAPOD0000000000002', secretAccessKey: 'pod-secret' }));
  try {
    await post(`${setup.sidecar.url}/bedrock${CONVERSE}`, MESSAGES, { authorization: 'Bearer bedrock-api-key-abc' });
    expect(setup.fake.received[0]?.headers.authorization).toBe('Bearer bedrock-api-key-abc');
    expect(setup.fake.received[0]?.headers['x-amz-date']).toBeUndefined();
  } finally {
    await setup.close();
  }
});

test('credentials that expire during a long stream: the stream finishes, and the next call is signed with the refreshed ones', async () => {
  const keys = new FakeKeyRing();
  const first = keys.add({ accessKeyId: 'AKIAPODFIRST00000001', secretAccessKey: 'first-secret', sessionToken: 'first-token' });
  const second = keys.add({ accessKeyId: 'AKIAPODSECOND0000001', secretAccessKey: 'second-secret', sessionToken: 'second-token' });
  let fetched = 0;
  // The first identity lives 3 s; the refresh (at half its life) gets the second.
  const setup = await setUp(
    keys,
    async () => {
      fetched += 1;
      return fetched === 1 ? { ...first, expiration: new Date(Date.now() + 3_000) } : { ...second, expiration: new Date(Date.now() + 3_600_000) };
    },
    {},
    // The recorded stream's 25 frames 160 ms apart: about 4 s, past the first identity's expiry.
    160,
  );
  try {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    const long = await post(`${setup.sidecar.url}/bedrock${STREAM}`, MESSAGES);
    expect(Date.now() - started).toBeGreaterThan(3_000);
    expect(long.status).toBe(200);
    const after = await post(`${setup.sidecar.url}/bedrock${CONVERSE}`, MESSAGES);
    expect(after.status).toBe(200);
    expect(setup.fake.received.map((request) => request.verdict)).toEqual([
      { ok: true, accessKeyId: first.accessKeyId },
      { ok: true, accessKeyId: second.accessKeyId },
    ]);
    expect(fetched).toBe(2);
    await setup.sidecar.telemetry.flush();
    const tokens = pointsOf(setup.receiver.latest(), METRICS.tokenUsage.name, { [ATTR.tokenType]: 'output' }).reduce((n, p) => n + (p.sum ?? 0), 0);
    // The stream's 58 output tokens and the Converse answer's 5: the long stream was read to its end.
    expect(tokens).toBe(58 + 5);
  } finally {
    await setup.close();
  }
});
