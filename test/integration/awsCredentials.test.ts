/**
 * The credential cache over the AWS SDK's real default chain (`fromNodeProviderChain`), one
 * source at a time, each against a loopback fake: environment keys, a web identity token file
 * exchanged at a fake STS (IRSA), a container credentials endpoint (ECS / EKS Pod Identity) and
 * EC2 instance metadata (IMDSv2). Every test starts from an environment without AWS_* variables,
 * with empty config files and HOME in a temp dir (so ~/.aws cannot leak in) and instance metadata
 * disabled (never waited on); only the IMDS tests lift that, after pointing it at a loopback fake.
 * Signatures made with the resolved credentials are checked by the fake Bedrock (aws4).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { AwsCredentialsError, createAwsCredentialCache, type AwsCredentialCache, type AwsCredentialFailure, type AwsCredentialProvider, type AwsCredentials } from '../../src/aws/credentials';
import { createAwsRequestSigner, type RequestToSign } from '../../src/aws/sigv4';
import {
  FakeKeyRing,
  sendTo,
  startFakeBedrock,
  startFakeContainerCredentials,
  startFakeImds,
  startFakeSts,
  type FakeBedrock,
  type TestCredentials,
} from '../helpers/fakeAws';

const REGION = 'us-east-1';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/bedrock-app';
const WEB_IDENTITY_TOKEN = 'eyJhbGciOiJSUzI1NiIsImtpZCI6ImZha2UifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDphcHAifQ.fake-signature';
const MODEL_PATH = '/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse';
const BODY = Buffer.from('{"messages":[{"role":"user","content":[{"text":"Hello"}]}]}');

const keys = new FakeKeyRing();
let bedrock: FakeBedrock;
const caches: AwsCredentialCache[] = [];
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  bedrock = await startFakeBedrock({ keys, region: REGION });
});
afterAll(async () => {
  await bedrock.close();
});

// ------------------------------------------------------------------ a clean environment per test

const savedEnv = { ...process.env };
let tempDir = '';

beforeEach(() => {
  for (const name of Object.keys(process.env)) if (name.startsWith('AWS_')) delete process.env[name];
  tempDir = mkdtempSync(path.join(os.tmpdir(), 'aws-credentials-test-'));
  const config = path.join(tempDir, 'config');
  const credentials = path.join(tempDir, 'credentials');
  writeFileSync(config, '');
  writeFileSync(credentials, '');
  Object.assign(process.env, {
    HOME: tempDir,
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: credentials,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
});

afterEach(async () => {
  for (const cache of caches.splice(0)) cache.close();
  for (const close of closers.splice(0)) await close();
  for (const name of Object.keys(process.env)) if (!(name in savedEnv)) delete process.env[name];
  Object.assign(process.env, savedEnv);
  rmSync(tempDir, { recursive: true, force: true });
});

// ------------------------------------------------------------------ helpers

/** The real default chain, counting how often the cache asks it. */
function countingChain(): { provider: AwsCredentialProvider; calls: () => number } {
  const chain = fromNodeProviderChain();
  let calls = 0;
  return {
    provider: (options) => {
      calls += 1;
      return chain(options);
    },
    calls: () => calls,
  };
}

function cacheFor(options: Parameters<typeof createAwsCredentialCache>[0] = {}): AwsCredentialCache {
  const cache = createAwsCredentialCache(options);
  caches.push(cache);
  return cache;
}

function toSign(): RequestToSign {
  return {
    method: 'POST',
    url: new URL(`https://bedrock-runtime.${REGION}.amazonaws.com${MODEL_PATH}`),
    headers: { 'content-type': 'application/json', 'content-length': String(BODY.length), authorization: 'AWS4-HMAC-SHA256 Credential=AKIAAPPKEY/...' },
    body: BODY,
  };
}

/** Signs with the cache's credentials and sends to the fake Bedrock; returns its verdict. */
async function signAndVerify(cache: AwsCredentialCache) {
  const request = toSign();
  const headers = await createAwsRequestSigner({ region: REGION, credentials: cache }).sign(request);
  const answer = await sendTo(bedrock.port, { ...request, headers });
  return { headers, answer, verdict: bedrock.received.at(-1)?.verdict };
}

const keyIdIn = (authorization: string | string[] | undefined): string | undefined => /Credential=([^/]+)\//.exec(String(authorization))?.[1];

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function webIdentityEnv(lifetimeMs: number) {
  const sts = await startFakeSts({ keys, roleArn: ROLE_ARN, webIdentityToken: WEB_IDENTITY_TOKEN, lifetimeMs });
  closers.push(sts.close);
  const tokenFile = path.join(tempDir, 'token');
  writeFileSync(tokenFile, WEB_IDENTITY_TOKEN);
  Object.assign(process.env, { AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: ROLE_ARN, AWS_REGION: REGION, AWS_ENDPOINT_URL_STS: sts.url });
  return sts;
}

/**
 * Points the chain's last source, instance metadata, at a fake IMDS on loopback. In
 * @smithy/credential-provider-imds AWS_EC2_METADATA_SERVICE_ENDPOINT overrides ..._ENDPOINT_MODE, so
 * no mode is needed; it is set before AWS_EC2_METADATA_DISABLED is lifted so 169.254.169.254 is never a target.
 */
async function instanceMetadataEnv(lifetimeMs: number) {
  const imds = await startFakeImds({ keys, lifetimeMs });
  closers.push(imds.close);
  Object.assign(process.env, { AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url });
  delete process.env.AWS_EC2_METADATA_DISABLED;
  return imds;
}

const IMDS_ROLES_PATH = '/latest/meta-data/iam/security-credentials/';

// ------------------------------------------------------------------ the chain, source by source

describe('the default Node credential chain, source by source', () => {
  test('environment keys without a session token', async () => {
    const envKeys = keys.add({ accessKeyId: 'AKIAFAKEENVIRONMENT1', secretAccessKey: 'envSecret/abcdefghijklmnopqrstuvwxyz0123456' });
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: envKeys.accessKeyId, AWS_SECRET_ACCESS_KEY: envKeys.secretAccessKey });
    const cache = cacheFor();
    expect(await cache.warm()).toBe(true);
    const { headers, answer, verdict } = await signAndVerify(cache);
    expect(verdict).toEqual({ ok: true, accessKeyId: envKeys.accessKeyId });
    expect(answer.status).toBe(200);
    expect(headers['x-amz-security-token']).toBeUndefined();
  });

  test('environment keys with a session token', async () => {
    const envKeys = keys.mint();
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: envKeys.accessKeyId, AWS_SECRET_ACCESS_KEY: envKeys.secretAccessKey, AWS_SESSION_TOKEN: envKeys.sessionToken });
    const cache = cacheFor();
    expect(await cache.warm()).toBe(true);
    const { headers, verdict } = await signAndVerify(cache);
    expect(verdict).toEqual({ ok: true, accessKeyId: envKeys.accessKeyId });
    expect(headers['x-amz-security-token']).toBe(envKeys.sessionToken);
  });

  test('web identity token file (IRSA): AssumeRoleWithWebIdentity at the STS named by AWS_ENDPOINT_URL_STS', async () => {
    const sts = await webIdentityEnv(60 * 60_000);
    const cache = cacheFor();
    expect(await cache.warm()).toBe(true);
    expect(sts.calls).toHaveLength(1);
    expect(sts.calls[0]).toMatchObject({ action: 'AssumeRoleWithWebIdentity', roleArn: ROLE_ARN, webIdentityToken: WEB_IDENTITY_TOKEN });
    const issued = sts.issued[0] as TestCredentials & { expiration: Date };
    expect(cache.current()?.expiration?.getTime()).toBe(issued.expiration.getTime());
    const { headers, verdict } = await signAndVerify(cache);
    expect(verdict).toEqual({ ok: true, accessKeyId: issued.accessKeyId });
    expect(headers['x-amz-security-token']).toBe(issued.sessionToken);
  });

  test('web identity refused by STS (wrong role): AwsCredentialsError naming the STS error, without the token', async () => {
    const sts = await webIdentityEnv(60 * 60_000);
    process.env.AWS_ROLE_ARN = 'arn:aws:iam::123456789012:role/some-other-role';
    const failures: AwsCredentialFailure[] = [];
    const cache = cacheFor({ onFailure: (failure) => failures.push(failure) });
    expect(await cache.warm()).toBe(false);
    expect(sts.calls.length).toBeGreaterThan(0);
    const error: unknown = await cache.resolve().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AwsCredentialsError);
    expect((error as Error).message).toMatch(/^no AWS credentials were found in the credential chain .*Not authorized to perform sts:AssumeRoleWithWebIdentity/);
    expect(failures).toHaveLength(1);
    for (const text of [(error as Error).message, failures[0]?.message ?? '']) expect(text).not.toContain(WEB_IDENTITY_TOKEN.slice(0, 30));
  });

  test('container credentials endpoint with AWS_CONTAINER_AUTHORIZATION_TOKEN (ECS style)', async () => {
    const endpoint = await startFakeContainerCredentials({ keys, lifetimeMs: 60 * 60_000, authorizationToken: 'container-token-0123456789' });
    closers.push(endpoint.close);
    Object.assign(process.env, { AWS_CONTAINER_CREDENTIALS_FULL_URI: endpoint.url, AWS_CONTAINER_AUTHORIZATION_TOKEN: 'container-token-0123456789' });
    const cache = cacheFor();
    expect(await cache.warm()).toBe(true);
    expect(endpoint.calls.map((call) => call.authorization)).toEqual(['container-token-0123456789']);
    const { verdict } = await signAndVerify(cache);
    expect(verdict).toEqual({ ok: true, accessKeyId: endpoint.issued[0]?.accessKeyId });
  });

  test('container credentials endpoint with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (EKS Pod Identity style)', async () => {
    const endpoint = await startFakeContainerCredentials({ keys, lifetimeMs: 60 * 60_000, authorizationToken: 'pod-identity-token-abcdef' });
    closers.push(endpoint.close);
    const tokenFile = path.join(tempDir, 'eks-pod-identity-token');
    writeFileSync(tokenFile, 'pod-identity-token-abcdef');
    Object.assign(process.env, { AWS_CONTAINER_CREDENTIALS_FULL_URI: endpoint.url, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile });
    const cache = cacheFor();
    expect(await cache.warm()).toBe(true);
    expect(endpoint.calls.map((call) => call.authorization)).toEqual(['pod-identity-token-abcdef']);
    const { verdict } = await signAndVerify(cache);
    expect(verdict).toEqual({ ok: true, accessKeyId: endpoint.issued[0]?.accessKeyId });
  });

  test('a refused container token: AwsCredentialsError, without the token in the message', async () => {
    const endpoint = await startFakeContainerCredentials({ keys, lifetimeMs: 60 * 60_000, authorizationToken: 'the-right-token-0000000' });
    closers.push(endpoint.close);
    Object.assign(process.env, { AWS_CONTAINER_CREDENTIALS_FULL_URI: endpoint.url, AWS_CONTAINER_AUTHORIZATION_TOKEN: 'a-wrong-token-1111111111' });
    const failures: AwsCredentialFailure[] = [];
    const cache = cacheFor({ onFailure: (failure) => failures.push(failure) });
    expect(await cache.warm()).toBe(false);
    expect(endpoint.calls.length).toBeGreaterThan(0);
    expect(endpoint.calls.every((call) => call.authorization === 'a-wrong-token-1111111111')).toBe(true);
    const error: unknown = await createAwsRequestSigner({ region: REGION, credentials: cache })
      .sign(toSign())
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AwsCredentialsError);
    expect(failures).toHaveLength(1);
    expect(failures[0]?.servingCached).toBe(false);
    for (const text of [(error as Error).message, failures[0]?.message ?? '']) expect(text).not.toContain('a-wrong-token-1111111111');
  });

  test('EC2 instance metadata (IMDSv2) at AWS_EC2_METADATA_SERVICE_ENDPOINT: token PUT, then GETs carrying that token', async () => {
    const imds = await instanceMetadataEnv(60 * 60_000);
    const cache = cacheFor();
    expect(await cache.warm()).toBe(true);
    expect(imds.calls.map(({ method, path: target, status }) => [method, target, status])).toEqual([
      ['PUT', '/latest/api/token', 200],
      ['GET', IMDS_ROLES_PATH, 200],
      ['GET', `${IMDS_ROLES_PATH}${imds.roleName}`, 200],
    ]);
    expect(imds.tokens).toHaveLength(1);
    expect(imds.calls[0]?.token).toBeUndefined();
    expect(imds.calls[0]?.ttlSeconds).toMatch(/^\d+$/);
    expect(imds.calls.slice(1).map((call) => call.token)).toEqual([imds.tokens[0], imds.tokens[0]]);
    const issued = imds.issued[0] as TestCredentials & { expiration: Date };
    const { headers, answer, verdict } = await signAndVerify(cache);
    expect(verdict).toEqual({ ok: true, accessKeyId: issued.accessKeyId });
    expect(answer.status).toBe(200);
    expect(headers['x-amz-security-token']).toBe(issued.sessionToken);
  });

  test('EC2 instance metadata: the cache keeps the served Expiration and refreshes before it with a new token', async () => {
    // Whole seconds, so 2-3 s: the cache refreshes at half the usable lifetime, within about a second.
    const imds = await instanceMetadataEnv(3_000);
    const cache = cacheFor();
    expect(await cache.warm()).toBe(true);
    const first = imds.issued[0] as TestCredentials & { expiration: Date };
    expect(cache.current()?.accessKeyId).toBe(first.accessKeyId);
    expect(cache.current()?.expiration?.getTime()).toBe(first.expiration.getTime());

    imds.settings.lifetimeMs = 60 * 60_000;
    await waitFor(() => cache.current()?.accessKeyId === imds.issued[1]?.accessKeyId, 3_000, 'the refreshed IMDS credentials');
    const second = imds.issued[1] as TestCredentials & { expiration: Date };
    expect(Date.now()).toBeLessThan(first.expiration.getTime()); // refreshed before the served expiry
    expect(cache.current()?.expiration?.getTime()).toBe(second.expiration.getTime());
    // Each chain call builds a new IMDS provider, so the refresh does its own token handshake.
    expect(imds.tokens).toHaveLength(2);
    expect(imds.calls.slice(3).map((call) => [call.method, call.token])).toEqual([
      ['PUT', undefined],
      ['GET', imds.tokens[1]],
      ['GET', imds.tokens[1]],
    ]);
    const { verdict } = await signAndVerify(cache);
    expect(verdict).toEqual({ ok: true, accessKeyId: second.accessKeyId });
  });

  test('EC2 instance metadata refusing the token PUT: the SDK falls back to tokenless IMDSv1 GETs, which get 401; AwsCredentialsError', async () => {
    const imds = await instanceMetadataEnv(60 * 60_000);
    imds.settings.tokenStatus = 403;
    const failures: AwsCredentialFailure[] = [];
    const cache = cacheFor({ onFailure: (failure) => failures.push(failure) });
    expect(await cache.warm()).toBe(false);
    expect(imds.calls.map(({ method, token, status }) => [method, token, status])).toEqual([
      ['PUT', undefined, 403],
      ['GET', undefined, 401],
    ]);
    expect(imds.issued).toHaveLength(0);
    const error: unknown = await cache.resolve().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AwsCredentialsError);
    // The SDK reports only the chain's generic end; the IMDS 401 is not in the message.
    expect((error as Error).message).toMatch(/^no AWS credentials were found in the credential chain .*Could not load credentials from any providers/);
    expect(failures).toHaveLength(1);
  });

  test('environment keys come before a web identity token file: STS is not called', async () => {
    const sts = await webIdentityEnv(60 * 60_000);
    const envKeys = keys.add({ accessKeyId: 'AKIAFAKEENVIRONMENT2', secretAccessKey: 'envSecret2/abcdefghijklmnopqrstuvwxyz012345' });
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: envKeys.accessKeyId, AWS_SECRET_ACCESS_KEY: envKeys.secretAccessKey });
    const cache = cacheFor();
    expect(await cache.warm()).toBe(true);
    expect(cache.current()?.accessKeyId).toBe(envKeys.accessKeyId);
    expect(sts.calls).toHaveLength(0);
  });
});

// ------------------------------------------------------------------ expiry and refresh

describe('expiry and refresh over the real chain (web identity)', () => {
  test('credentials living a few seconds are refreshed before expiry; signing never waits on the refresh and then uses the new keys', async () => {
    const sts = await webIdentityEnv(6_000);
    const chain = countingChain();
    const cache = cacheFor({ provider: chain.provider });
    expect(await cache.warm()).toBe(true);
    const first = sts.issued[0] as TestCredentials & { expiration: Date };
    const signer = createAwsRequestSigner({ region: REGION, credentials: cache });

    // Fresh: sign() takes the cached value; the chain is not asked again.
    const latenciesMs: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      const started = performance.now();
      const headers = await signer.sign(toSign());
      latenciesMs.push(performance.now() - started);
      expect(keyIdIn(headers.authorization)).toBe(first.accessKeyId);
    }
    expect(chain.calls()).toBe(1);
    console.log(`sign() with fresh cached credentials: max ${Math.max(...latenciesMs).toFixed(2)} ms over 20 calls, chain calls: ${chain.calls()}`);

    // The next STS answer takes a second; meanwhile requests keep signing with the old keys.
    sts.settings.delayMs = 1_000;
    await waitFor(() => sts.calls.length === 2, 6_000, 'the scheduled refresh to reach STS');
    expect(sts.calls[1]?.at).toBeLessThan(first.expiration.getTime());
    for (let i = 0; i < 5; i += 1) {
      const headers = await signer.sign(toSign());
      expect(keyIdIn(headers.authorization)).toBe(first.accessKeyId);
    }
    expect(sts.issued).toHaveLength(1); // all five signed before STS answered
    expect(chain.calls()).toBe(2); // only the timer's refresh asked the chain

    await waitFor(() => sts.issued.length === 2 && cache.current()?.accessKeyId === sts.issued[1]?.accessKeyId, 3_000, 'the refreshed credentials');
    const second = sts.issued[1] as TestCredentials & { expiration: Date };
    expect(second.accessKeyId).not.toBe(first.accessKeyId);
    expect(Date.now()).toBeLessThan(first.expiration.getTime()); // refreshed before the old ones expired
    const { verdict } = await signAndVerify(cache);
    expect(verdict).toEqual({ ok: true, accessKeyId: second.accessKeyId });
  });
});

// ------------------------------------------------------------------ nothing anywhere

describe('no credentials anywhere', () => {
  test('sign() rejects with AwsCredentialsError, the failure is reported once for many calls, IMDS is never waited on', async () => {
    const chain = countingChain();
    const failures: AwsCredentialFailure[] = [];
    const cache = cacheFor({ provider: chain.provider, onFailure: (failure) => failures.push(failure), retryMinMs: 50, retryMaxMs: 100 });
    const signer = createAwsRequestSigner({ region: REGION, credentials: cache });
    const started = Date.now();
    expect(await cache.warm()).toBe(false);

    const concurrent = await Promise.allSettled(Array.from({ length: 20 }, () => signer.sign(toSign())));
    const errors: unknown[] = concurrent.map((result) => (result.status === 'rejected' ? result.reason : undefined));
    for (let i = 0; i < 6; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 60)); // past the back-off: these calls ask the chain again
      errors.push(await signer.sign(toSign()).catch((caught: unknown) => caught));
    }
    await waitFor(() => chain.calls() >= 5, 3_000, 'background retries');

    expect(errors.every((error) => error instanceof AwsCredentialsError)).toBe(true);
    expect((errors[0] as Error).message).toMatch(/^no AWS credentials were found in the credential chain/);
    expect(chain.calls()).toBeGreaterThanOrEqual(5);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toEqual({ message: expect.stringContaining('Could not load credentials from any providers'), servingCached: false });
    expect(Date.now() - started).toBeLessThan(5_000); // nothing waited on 169.254.169.254
  });
});

// ------------------------------------------------------------------ the cache's own rules (injected provider)

describe('the cache with an injected provider', () => {
  const temporary = (lifetimeMs: number, id = 'ASIAINJECTED00000001'): AwsCredentials => ({
    accessKeyId: id,
    secretAccessKey: `secret-for-${id}-0123456789`,
    sessionToken: `token-for-${id}-0123456789`,
    expiration: new Date(Date.now() + lifetimeMs),
  });

  test('concurrent calls without credentials share one fetch', async () => {
    let calls = 0;
    let release: (credentials: AwsCredentials) => void = () => undefined;
    const cache = cacheFor({
      provider: () => {
        calls += 1;
        return new Promise<AwsCredentials>((resolve) => (release = resolve));
      },
    });
    const pending = Array.from({ length: 10 }, () => cache.resolve());
    release(temporary(60 * 60_000));
    const resolved = await Promise.all(pending);
    expect(calls).toBe(1);
    expect(new Set(resolved.map((credentials) => credentials.accessKeyId))).toEqual(new Set(['ASIAINJECTED00000001']));
  });

  test('failed refreshes keep serving still-valid credentials, report each distinct failure once, and redact', async () => {
    const answers: Array<() => Promise<AwsCredentials>> = [
      () => Promise.resolve(temporary(3_000)),
      () => Promise.reject(new Error('STS unreachable: connect ECONNREFUSED; last key ASIAINJECTED00000001 secret secret-for-ASIAINJECTED00000001-0123456789')),
    ];
    let calls = 0;
    const failures: AwsCredentialFailure[] = [];
    const cache = cacheFor({
      provider: () => {
        calls += 1;
        return (answers[Math.min(calls - 1, answers.length - 1)] as () => Promise<AwsCredentials>)();
      },
      onFailure: (failure) => failures.push(failure),
      retryMinMs: 50,
      retryMaxMs: 100,
    });
    expect(await cache.warm()).toBe(true);
    await waitFor(() => calls >= 2, 3_000, 'the first refresh');
    // Still valid: signing goes on with the cached keys while refreshes fail.
    expect((await cache.resolve()).accessKeyId).toBe('ASIAINJECTED00000001');
    expect(failures).toEqual([{ message: expect.stringContaining('STS unreachable'), servingCached: true }]);
    expect(failures[0]?.message).not.toMatch(/ASIAINJECTED00000001|secret-for/);

    // Past expiry the cache has nothing, and signing fails with the typed error.
    await waitFor(() => cache.current() === undefined, 3_000, 'the cached credentials to expire');
    const retriesBefore = calls;
    await waitFor(() => calls >= retriesBefore + 2, 3_000, 'more retries');
    const error: unknown = await cache.resolve().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AwsCredentialsError);
    expect(failures).toHaveLength(1); // the same failure, many attempts: one report

    // A different failure is a new report.
    answers[1] = () => Promise.reject(new Error('AccessDenied: not authorized to assume the role'));
    await waitFor(() => failures.length === 2, 3_000, 'the new failure to be reported');
    expect(failures[1]).toEqual({ message: expect.stringContaining('AccessDenied'), servingCached: false });
  });

  test('close() stops the refresh timer', async () => {
    let calls = 0;
    const cache = cacheFor({
      provider: () => {
        calls += 1;
        return Promise.resolve(temporary(2_000, `ASIAINJECTED0000000${calls}`));
      },
    });
    expect(await cache.warm()).toBe(true);
    await waitFor(() => calls >= 2, 3_000, 'a timer refresh');
    cache.close();
    const after = calls;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(calls).toBe(after);
  });

  test('cached credentials do not show their secret parts when printed', async () => {
    const cache = cacheFor({ provider: () => Promise.resolve(temporary(60 * 60_000)) });
    await cache.warm();
    const current = cache.current();
    expect(current?.secretAccessKey).toBe('secret-for-ASIAINJECTED00000001-0123456789');
    const printed = `${JSON.stringify(current)} ${inspect(current)}`;
    expect(printed).toContain('ASIAINJECTED00000001');
    expect(printed).not.toMatch(/secret-for|token-for/);
  });
});
