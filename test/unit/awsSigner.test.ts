/**
 * The Bedrock request signer: every signature it makes is checked by a fake Bedrock that
 * recomputes it with `aws4`, an implementation independent of @smithy/signature-v4, from what
 * arrived on the wire. Tampered requests and stale dates must be refused by that same check, so
 * a signer (or verifier) that accepted anything would fail here.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { AwsCredentialsError, createAwsCredentialCache, type AwsCredentials } from '../../src/aws/credentials';
import { createAwsRequestSigner, regionOf, type HeaderMap, type RequestToSign } from '../../src/aws/sigv4';
import { FakeKeyRing, sendTo, startFakeBedrock, verifySigV4, type FakeBedrock, type TestCredentials } from '../helpers/fakeAws';

const REGION = 'us-east-1';
const UPSTREAM = `https://bedrock-runtime.${REGION}.amazonaws.com`;
const ARN_PATH = '/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse';
const PROFILE_PATH = '/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse';
const BODY = Buffer.from(JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'Hello' }] }], inferenceConfig: { maxTokens: 16 } }));

const keys = new FakeKeyRing();
const STATIC: TestCredentials = keys.add({ accessKeyId: 'AKIAFAKESTATIC000001', secretAccessKey: 'staticSecret/0123456789abcdefghijklmnopqrstu' });
const TEMPORARY: TestCredentials = keys.mint();

let bedrock: FakeBedrock;
beforeAll(async () => {
  // Jest gives each test file its own process.env; this only quiets the SDK's Node 20 notice here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  bedrock = await startFakeBedrock({ keys, region: REGION });
});
afterAll(async () => {
  await bedrock.close();
});

function fixedCredentials(credentials: TestCredentials): { resolve(): Promise<AwsCredentials> } {
  return { resolve: () => Promise.resolve(credentials) };
}

function signerFor(credentials: TestCredentials, now?: () => Date) {
  return createAwsRequestSigner({ region: REGION, credentials: fixedCredentials(credentials), now });
}

/** What the app's SDK sent to the sidecar, signed for the sidecar's address with the app's own keys. */
function clientHeaders(extra: HeaderMap = {}): HeaderMap {
  return {
    'content-type': 'application/json',
    'content-length': String(BODY.length),
    host: '127.0.0.1:8787',
    'user-agent': 'aws-sdk-js/3.0.0 ua/2.1 api/bedrock-runtime#3.0.0',
    'x-amz-user-agent': 'aws-sdk-js/3.0.0',
    'amz-sdk-invocation-id': '3f1c7a0e-0000-4000-8000-000000000000',
    'amz-sdk-request': 'attempt=1; max=3',
    'x-amz-date': '20200101T000000Z',
    'x-amz-security-token': 'CLIENT-SESSION-TOKEN',
    'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
    authorization: 'AWS4-HMAC-SHA256 Credential=AKIACLIENTKEY0000001/20200101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=' + '0'.repeat(64),
    ...extra,
  };
}

function request(path: string, overrides: Partial<RequestToSign> = {}): RequestToSign {
  return { method: 'POST', url: new URL(`${UPSTREAM}${path}`), headers: clientHeaders(), body: BODY, ...overrides };
}

function signedHeaderNames(headers: HeaderMap): string[] {
  const authorization = headers.authorization;
  const match = /SignedHeaders=([^,]+),/.exec(typeof authorization === 'string' ? authorization : '');
  if (!match?.[1]) throw new Error('no SignedHeaders in the authorization header');
  return match[1].split(';');
}

async function signAndSend(toSign: RequestToSign, credentials: TestCredentials = TEMPORARY) {
  const headers = await signerFor(credentials).sign(toSign);
  const answer = await sendTo(bedrock.port, { ...toSign, headers });
  const seen = bedrock.received.at(-1);
  if (!seen) throw new Error('the fake Bedrock received nothing');
  return { headers, answer, seen };
}

describe('signatures the independent verifier accepts', () => {
  test('a JSON body with long-term keys: no session token, the body hash sent as the SDKs send it', async () => {
    const { headers, answer, seen } = await signAndSend(request(ARN_PATH), STATIC);
    expect(seen.verdict).toEqual({ ok: true, accessKeyId: STATIC.accessKeyId });
    expect(answer.status).toBe(200);
    expect(headers['x-amz-security-token']).toBeUndefined();
    expect(headers['x-amz-content-sha256']).toBe(createHash('sha256').update(BODY).digest('hex'));
    expect(headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(headers.authorization).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=${STATIC.accessKeyId}/\\d{8}/${REGION}/bedrock/aws4_request, `));
  });

  test('temporary credentials: the session token is sent and signed', async () => {
    const { headers, seen } = await signAndSend(request(ARN_PATH));
    expect(seen.verdict).toEqual({ ok: true, accessKeyId: TEMPORARY.accessKeyId });
    expect(headers['x-amz-security-token']).toBe(TEMPORARY.sessionToken);
    expect(signedHeaderNames(headers)).toContain('x-amz-security-token');
  });

  test('an inference-profile ARN in the path: the path travels as the client encoded it and is signed double-encoded', async () => {
    const { seen } = await signAndSend(request(ARN_PATH));
    expect(seen.path).toBe(ARN_PATH);
    expect(seen.verdict.ok).toBe(true);
  });

  test('an inference-profile id with its colon percent-encoded, and the same id with a raw colon', async () => {
    for (const path of [PROFILE_PATH, '/model/us.anthropic.claude-3-5-haiku-20241022-v1:0/converse']) {
      const { seen } = await signAndSend(request(path));
      expect(seen.path).toBe(path);
      expect(seen.verdict).toEqual({ ok: true, accessKeyId: TEMPORARY.accessKeyId });
    }
  });

  test('a streaming operation path and a GET with a query string (reserved characters, repeated keys)', async () => {
    const stream = await signAndSend(request(PROFILE_PATH.replace(/converse$/, 'converse-stream')));
    expect(stream.seen.verdict.ok).toBe(true);
    const path = '/async-invoke?statusEquals=InProgress&maxResults=10&nextToken=abc%2Fdef%2B%3D%3D&sortBy=SubmissionTime&tag=b&tag=a';
    const headers = { ...clientHeaders(), 'content-length': '0' };
    const get = await signAndSend(request(path, { method: 'GET', headers, body: new Uint8Array() }));
    expect(get.seen.path).toBe(path);
    expect(get.seen.verdict).toEqual({ ok: true, accessKeyId: TEMPORARY.accessKeyId });
  });

  test('a real AWS SDK request relayed through the signer: the app keys never reach Bedrock and the SDK parses the answer', async () => {
    // The Bedrock runtime SDK speaks HTTP/2 by default, also to an http:// endpoint (h2c).
    const signer = signerFor(TEMPORARY);
    const relayed: HeaderMap[] = [];
    const relay = http2.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (chunk: Buffer) => parts.push(chunk));
      req.on('end', () => {
        const headers: HeaderMap = {};
        for (const [name, value] of Object.entries(req.headers)) if (!name.startsWith(':') && value !== undefined) headers[name] = value;
        relayed.push(headers);
        const url = new URL(req.url.replace(/^\/bedrock/, ''), UPSTREAM);
        const body = Buffer.concat(parts);
        void signer
          .sign({ method: req.method, url, headers, body })
          .then((signed) => sendTo(bedrock.port, { method: req.method, url, headers: signed, body }))
          .then((answer) => {
            res.writeHead(answer.status, { 'content-type': 'application/json', 'x-amzn-errortype': answer.headers['x-amzn-errortype'] ?? '' });
            res.end(answer.body);
          });
      });
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const client = new BedrockRuntimeClient({
      region: REGION,
      endpoint: `http://127.0.0.1:${(relay.address() as AddressInfo).port}/bedrock`,
      credentials: { accessKeyId: 'AKIAAPPKEYNOTKNOWN01', secretAccessKey: 'app-secret-unknown-to-bedrock', sessionToken: 'APP-TOKEN' },
      maxAttempts: 1,
    });
    try {
      const answer = await client.send(
        new ConverseCommand({ modelId: 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0', messages: [{ role: 'user', content: [{ text: 'Hello' }] }] }),
      );
      expect(answer.output?.message?.content?.[0]?.text).toBe('ok');
      expect(relayed[0]?.authorization).toContain('AKIAAPPKEYNOTKNOWN01'); // the app really signed
      const seen = bedrock.received.at(-1);
      expect(seen?.path).toBe(ARN_PATH);
      expect(seen?.verdict).toEqual({ ok: true, accessKeyId: TEMPORARY.accessKeyId });
      expect(JSON.stringify(seen?.headers)).not.toMatch(/AKIAAPPKEYNOTKNOWN01|APP-TOKEN/);
    } finally {
      client.destroy();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
    }
  });
});

describe('the headers sent upstream', () => {
  test("the client's signature and host never reach the output; the rest passes through", async () => {
    const headers = await signerFor(TEMPORARY).sign(
      request(ARN_PATH, { headers: clientHeaders({ Authorization: 'AWS4-HMAC-SHA256 mixed-case', 'X-Amz-Date': '20200101T000000Z', 'X-Amz-Security-Token': 'CLIENT-2', 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD', Host: 'localhost:8787' }) }),
    );
    const text = JSON.stringify(headers);
    for (const clientValue of ['AKIACLIENTKEY0000001', 'CLIENT-SESSION-TOKEN', 'CLIENT-2', 'mixed-case', 'UNSIGNED-PAYLOAD', '20200101T000000Z', '127.0.0.1:8787', 'localhost:8787']) {
      expect(text).not.toContain(clientValue);
    }
    const lowerNames = Object.keys(headers).map((name) => name.toLowerCase());
    expect(lowerNames.length).toBe(new Set(lowerNames).size); // one entry per header
    expect(headers.host).toBe(`bedrock-runtime.${REGION}.amazonaws.com`);
    expect(headers['amz-sdk-invocation-id']).toBe('3f1c7a0e-0000-4000-8000-000000000000');
    expect(headers['user-agent']).toMatch(/^aws-sdk-js/);
  });

  test('user-agent and hop-by-hop headers are left out of the signed set, as the SDK does', async () => {
    const headers = await signerFor(TEMPORARY).sign(
      request(ARN_PATH, { headers: clientHeaders({ connection: 'keep-alive', 'keep-alive': 'timeout=5', te: 'trailers', expect: '100-continue', 'x-amzn-trace-id': 'Root=1-0', 'proxy-authorization': 'Basic abc' }) }),
    );
    expect(signedHeaderNames(headers)).toEqual(['amz-sdk-invocation-id', 'amz-sdk-request', 'content-length', 'content-type', 'host', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-security-token', 'x-amz-user-agent']);
  });

  test('repeated and differently-cased header names are sent once, as signed', async () => {
    const headers = clientHeaders({ 'X-Custom': 'one', 'x-custom': ['two', 'three'] });
    const { headers: signed, seen } = await signAndSend(request(ARN_PATH, { headers }));
    expect(signed['X-Custom']).toBe('one, two, three');
    expect(seen.verdict.ok).toBe(true);
  });

  test('content-length follows the body actually sent', async () => {
    const { headers, seen } = await signAndSend(request(ARN_PATH, { headers: clientHeaders({ 'content-length': '9999' }) }));
    expect(headers['content-length']).toBe(String(BODY.length));
    expect(seen.verdict.ok).toBe(true);
  });
});

describe('requests the verifier must refuse', () => {
  test('a body changed after signing', async () => {
    const toSign = request(ARN_PATH);
    const headers = await signerFor(TEMPORARY).sign(toSign);
    const tampered = Buffer.from(BODY.toString('utf8').replace('Hello', 'HELLO'));
    const answer = await sendTo(bedrock.port, { ...toSign, headers, body: tampered });
    expect(answer.status).toBe(403);
    expect(answer.headers['x-amzn-errortype']).toBe('InvalidSignatureException');
    expect(bedrock.received.at(-1)?.verdict).toMatchObject({ ok: false });
    // With the body hash header also recomputed, the signature itself no longer matches.
    const forged = { ...headers, 'x-amz-content-sha256': createHash('sha256').update(tampered).digest('hex') };
    const second = await sendTo(bedrock.port, { ...toSign, headers: forged, body: tampered });
    expect(second.status).toBe(403);
    expect(JSON.parse(second.body)).toEqual({ message: expect.stringMatching(/^The request signature we calculated does not match/) });
    expect(bedrock.received.at(-1)?.verdict).toMatchObject({ ok: false, reason: 'signature-mismatch' });
  });

  test('a path changed after signing (another model)', async () => {
    const toSign = request(ARN_PATH);
    const headers = await signerFor(TEMPORARY).sign(toSign);
    const answer = await sendTo(bedrock.port, { ...toSign, url: new URL(`${UPSTREAM}${PROFILE_PATH}`), headers });
    expect(answer.status).toBe(403);
    expect(bedrock.received.at(-1)?.verdict).toMatchObject({ ok: false, reason: 'signature-mismatch' });
  });

  test('(control) a signature a few seconds old is still accepted', async () => {
    // Crossing second boundaries between signing and checking must not matter to the verifier.
    const recent = signerFor(TEMPORARY, () => new Date(Date.now() - 2_500));
    const toSign = request(ARN_PATH);
    const answer = await sendTo(bedrock.port, { ...toSign, headers: await recent.sign(toSign) });
    expect(answer.status).toBe(200);
    expect(bedrock.received.at(-1)?.verdict).toEqual({ ok: true, accessKeyId: TEMPORARY.accessKeyId });
  });

  test('a signature 10 minutes old', async () => {
    const stale = signerFor(TEMPORARY, () => new Date(Date.now() - 10 * 60_000));
    const toSign = request(ARN_PATH);
    const answer = await sendTo(bedrock.port, { ...toSign, headers: await stale.sign(toSign) });
    expect(answer.status).toBe(403);
    expect(bedrock.received.at(-1)?.verdict).toMatchObject({ ok: false, reason: 'stale-date' });
  });

  test('an unknown key and a wrong session token', async () => {
    const toSign = request(ARN_PATH);
    const unknown = await signerFor({ accessKeyId: 'AKIANOTKNOWN00000001', secretAccessKey: 'x'.repeat(40) }).sign(toSign);
    expect((await sendTo(bedrock.port, { ...toSign, headers: unknown })).status).toBe(403);
    expect(bedrock.received.at(-1)?.verdict).toMatchObject({ ok: false, reason: 'unknown-key' });
    const wrongToken = await signerFor({ ...TEMPORARY, sessionToken: 'not-the-issued-token' }).sign(toSign);
    expect((await sendTo(bedrock.port, { ...toSign, headers: wrongToken })).status).toBe(403);
    expect(bedrock.received.at(-1)?.verdict).toMatchObject({ ok: false, reason: 'bad-token' });
  });

  test('the verifier on its own: a signature for another region is refused', async () => {
    const toSign = request(ARN_PATH);
    const headers = await createAwsRequestSigner({ region: 'eu-west-1', credentials: fixedCredentials(TEMPORARY) }).sign(toSign);
    const lowered: http.IncomingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers)) lowered[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    expect(verifySigV4({ method: 'POST', path: ARN_PATH, headers: lowered, body: BODY }, keys, { region: REGION })).toMatchObject({ ok: false, reason: 'bad-scope' });
    expect(verifySigV4({ method: 'POST', path: ARN_PATH, headers: lowered, body: BODY }, keys, { region: 'eu-west-1' })).toEqual({ ok: true, accessKeyId: TEMPORARY.accessKeyId });
  });
});

describe('without credentials', () => {
  test('sign() rejects with AwsCredentialsError and the message holds no credential value', async () => {
    const cache = createAwsCredentialCache({
      provider: () => Promise.reject(new Error(`could not use key ${STATIC.accessKeyId} / ${STATIC.secretAccessKey}`)),
      env: {},
    });
    const signer = createAwsRequestSigner({ region: REGION, credentials: cache });
    const error: unknown = await signer.sign(request(ARN_PATH)).catch((caught: unknown) => caught);
    cache.close();
    expect(error).toBeInstanceOf(AwsCredentialsError);
    const message = (error as AwsCredentialsError).message;
    expect(message).toMatch(/^no AWS credentials were found in the credential chain/);
    expect(message).not.toContain(STATIC.accessKeyId);
    expect(message).not.toContain(STATIC.secretAccessKey);
  });
});

describe('regionOf', () => {
  const env = { AWS_REGION: 'eu-central-1', AWS_DEFAULT_REGION: 'ap-south-1' };
  test.each([
    ['https://bedrock-runtime.us-east-1.amazonaws.com', env, 'us-east-1'],
    ['https://bedrock-runtime.us-west-2.amazonaws.com/model/x/converse', {}, 'us-west-2'],
    ['https://bedrock-runtime-fips.us-gov-west-1.amazonaws.com', env, 'us-gov-west-1'],
    ['https://bedrock-runtime.cn-north-1.amazonaws.com.cn', env, 'cn-north-1'],
    ['https://vpce-0abc-def.bedrock-runtime.eu-west-3.vpce.amazonaws.com', env, 'eu-west-3'],
    ['https://BEDROCK-RUNTIME.AP-NORTHEAST-1.AMAZONAWS.COM', env, 'ap-northeast-1'],
    ['https://bedrock-proxy.internal.example.com', env, 'eu-central-1'],
    ['http://127.0.0.1:9000', { AWS_DEFAULT_REGION: 'ap-south-1' }, 'ap-south-1'],
    ['http://127.0.0.1:9000', { AWS_REGION: '  ', AWS_DEFAULT_REGION: 'ap-south-1' }, 'ap-south-1'],
    ['https://bedrock-runtime.amazonaws.com', {}, undefined],
    ['https://bedrock-runtime.evil.com.attacker.net', {}, undefined],
    ['https://example.com', {}, undefined],
  ])('%s with %j', (url, environment, expected) => {
    expect(regionOf(new URL(url), environment)).toBe(expected);
  });
});

describe('cost', () => {
  test('CPU per sign() with cached credentials, 2 KiB body', async () => {
    const cache = createAwsCredentialCache({ provider: () => Promise.resolve(TEMPORARY) });
    expect(await cache.warm()).toBe(true);
    const signer = createAwsRequestSigner({ region: REGION, credentials: cache });
    const body = Buffer.alloc(2048, 'a');
    const toSign = request(ARN_PATH, { body, headers: clientHeaders({ 'content-length': '2048' }) });
    for (let i = 0; i < 200; i += 1) await signer.sign(toSign); // warm the JIT and the signing-key cache
    const calls = 2000;
    const before = process.cpuUsage();
    const started = process.hrtime.bigint();
    let last: HeaderMap = {};
    for (let i = 0; i < calls; i += 1) last = await signer.sign(toSign);
    const cpu = process.cpuUsage(before);
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    cache.close();
    const cpuUsPerCall = (cpu.user + cpu.system) / calls;
    console.log(`sign(): ${cpuUsPerCall.toFixed(1)} µs CPU per call (user ${(cpu.user / calls).toFixed(1)}, system ${(cpu.system / calls).toFixed(1)}), ${((wallMs * 1000) / calls).toFixed(1)} µs wall, ${calls} calls, 2 KiB body`);
    expect(last.authorization).toMatch(/^AWS4-HMAC-SHA256 /);
    expect(cpuUsPerCall).toBeGreaterThan(0);
  });
});
