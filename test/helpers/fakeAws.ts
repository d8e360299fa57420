/**
 * Loopback stand-ins for the AWS endpoints the Bedrock signer meets, all on 127.0.0.1:0:
 * - a Bedrock runtime that checks every request's SigV4 signature with `aws4`, an implementation
 *   independent of the sidecar's (@smithy/signature-v4), and answers 403 like AWS when it fails;
 * - an STS answering AssumeRoleWithWebIdentity (the IRSA path) with XML as the real one does;
 * - a container credentials endpoint (ECS / EKS Pod Identity) answering JSON;
 * - an EC2 instance metadata service requiring IMDSv2 session tokens, serving an instance role.
 * A shared key ring holds the credentials the fakes issue, so Bedrock knows every valid key.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import aws4 from 'aws4';

export interface TestCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** The credentials the fakes know: issued by the fake STS / container endpoint, or added by a test. */
export class FakeKeyRing {
  private readonly byId = new Map<string, TestCredentials>();
  private minted = 0;

  add(credentials: TestCredentials): TestCredentials {
    this.byId.set(credentials.accessKeyId, credentials);
    return credentials;
  }

  /** Fresh temporary credentials (ASIA…, with a session token), different each call. */
  mint(): TestCredentials {
    this.minted += 1;
    const n = String(this.minted).padStart(4, '0');
    return this.add({
      accessKeyId: `ASIAFAKE${n}TESTKEY1`,
      secretAccessKey: `fakeSecret${n}/abcdefghijklmnopqrstuvwxyz0123`,
      sessionToken: `FakeSessionToken${n}//${'x'.repeat(60)}`,
    });
  }

  get(accessKeyId: string): TestCredentials | undefined {
    return this.byId.get(accessKeyId);
  }
}

export interface ReceivedSignedRequest {
  method: string;
  /** The request target exactly as received (path and query, still percent-encoded). */
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export type SigV4Failure =
  | 'missing-authorization'
  | 'bad-authorization'
  | 'unknown-key'
  | 'bad-scope'
  | 'stale-date'
  | 'bad-token'
  | 'bad-payload-hash'
  | 'signature-mismatch';

export type SigV4Verdict = { ok: true; accessKeyId: string } | { ok: false; reason: SigV4Failure; detail: string };

export interface VerifyOptions {
  region: string;
  service?: string;
  /** Accepted distance between x-amz-date and now; AWS allows 5 minutes. */
  maxSkewMs?: number;
  now?: () => Date;
}

const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/;

/** aws4 adds these when absent; a header it adds but the client did not sign must not enter the recomputation. */
const HEADERS_AWS4_MAY_ADD = ['content-type', 'content-length', 'x-amz-security-token', 'x-amz-date', 'x-amz-content-sha256'];

interface Aws4VerifierRequest extends aws4.Request {
  extraHeadersToIgnore?: Record<string, boolean>;
  extraHeadersToInclude?: Record<string, boolean>;
}

/**
 * Checks a received request as AWS would: the signature recomputed (by aws4) from the method,
 * raw path, the headers named in SignedHeaders and the body must equal the one sent; the date
 * must be recent, the scope right and the session token the one issued with the key.
 */
export function verifySigV4(request: ReceivedSignedRequest, keys: FakeKeyRing, options: VerifyOptions): SigV4Verdict {
  const service = options.service ?? 'bedrock';
  const authorization = request.headers.authorization;
  if (!authorization) return { ok: false, reason: 'missing-authorization', detail: 'no Authorization header' };
  const match = AUTHORIZATION.exec(authorization);
  if (!match) return { ok: false, reason: 'bad-authorization', detail: 'Authorization header is not AWS4-HMAC-SHA256' };
  const [, accessKeyId = '', scopeDate = '', region, scopeService, signedList = ''] = match;
  const credentials = keys.get(accessKeyId);
  if (!credentials) return { ok: false, reason: 'unknown-key', detail: 'The security token included in the request is invalid.' };

  const amzDate = single(request.headers['x-amz-date']);
  const signedNames = signedList.split(';');
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate)) return { ok: false, reason: 'bad-authorization', detail: 'missing or malformed x-amz-date' };
  if (region !== options.region || scopeService !== service || scopeDate !== amzDate.slice(0, 8)) {
    return { ok: false, reason: 'bad-scope', detail: `credential scope ${scopeDate}/${region}/${scopeService} is wrong` };
  }
  if (!signedNames.includes('host') || !signedNames.includes('x-amz-date')) {
    return { ok: false, reason: 'bad-authorization', detail: 'host and x-amz-date must be signed' };
  }
  const signedAt = Date.parse(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
  const now = (options.now?.() ?? new Date()).getTime();
  if (Math.abs(now - signedAt) > (options.maxSkewMs ?? 5 * 60_000)) {
    return { ok: false, reason: 'stale-date', detail: `Signature expired: ${amzDate} is not within 5 minutes of the server time` };
  }
  const token = single(request.headers['x-amz-security-token']);
  if (token !== credentials.sessionToken || (token !== undefined && !signedNames.includes('x-amz-security-token'))) {
    return { ok: false, reason: 'bad-token', detail: 'The security token included in the request is invalid.' };
  }
  const payloadHash = single(request.headers['x-amz-content-sha256']);
  if (payloadHash !== undefined && payloadHash !== createHash('sha256').update(request.body).digest('hex')) {
    return { ok: false, reason: 'bad-payload-hash', detail: 'x-amz-content-sha256 does not match the body' };
  }

  const headers: Record<string, string> = {};
  for (const name of signedNames) {
    const value = request.headers[name];
    if (value === undefined) return { ok: false, reason: 'signature-mismatch', detail: `signed header ${name} is missing` };
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const extraHeadersToIgnore: Record<string, boolean> = {};
  for (const name of HEADERS_AWS4_MAY_ADD) if (!signedNames.includes(name)) extraHeadersToIgnore[name] = true;
  const extraHeadersToInclude: Record<string, boolean> = {};
  for (const name of signedNames) extraHeadersToInclude[name] = true;
  const recomputed: Aws4VerifierRequest = {
    method: request.method,
    host: headers.host,
    path: request.path,
    headers,
    body: request.body,
    service,
    region: options.region,
    extraHeadersToIgnore,
    extraHeadersToInclude,
  };
  const recomputation = new aws4.RequestSigner(recomputed, credentials);
  // Before authHeader(): it reads the date before preparing, which would take the clock's
  // current second instead of x-amz-date and fail requests that cross a second boundary.
  recomputation.prepareRequest();
  const expected = recomputation.authHeader();
  if (expected !== authorization) {
    return {
      ok: false,
      reason: 'signature-mismatch',
      detail: 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    };
  }
  return { ok: true, accessKeyId };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function closer(server: http.Server): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => parts.push(chunk));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

export interface FakeBedrock {
  url: string;
  port: number;
  received: Array<ReceivedSignedRequest & { verdict: SigV4Verdict }>;
  close(): Promise<void>;
}

/** A Converse answer the SDK can parse. */
const CONVERSE_ANSWER = JSON.stringify({
  output: { message: { role: 'assistant', content: [{ text: 'ok' }] } },
  stopReason: 'end_turn',
  usage: { inputTokens: 3, outputTokens: 1, totalTokens: 4 },
  metrics: { latencyMs: 1 },
});

/** What a fake Bedrock answers a request whose signature verified: recorded bytes, in the pieces given. */
export interface FakeBedrockAnswer {
  status: number;
  headers: Record<string, string>;
  chunks: Array<string | Buffer>;
  /** Milliseconds between chunks (a slow stream); default: the next turn of the event loop. */
  pauseMs?: number;
}

export async function startFakeBedrock(options: { keys: FakeKeyRing; region: string; service?: string; answer?: (request: ReceivedSignedRequest) => FakeBedrockAnswer }): Promise<FakeBedrock> {
  const received: FakeBedrock['received'] = [];
  const server = http.createServer((req, res) => {
    void readBody(req).then((body) => {
      const request = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
      const verdict = verifySigV4(request, options.keys, { region: options.region, service: options.service });
      received.push({ ...request, verdict });
      if (verdict.ok && options.answer) {
        const answer = options.answer(request);
        res.writeHead(answer.status, { ...answer.headers, 'x-amzn-requestid': `req-${received.length}` });
        // Piece by piece, as a stream arrives, each piece its own write.
        void (async () => {
          for (const chunk of answer.chunks) {
            res.write(chunk);
            await new Promise((resolve) => (answer.pauseMs ? setTimeout(resolve, answer.pauseMs) : setImmediate(resolve)));
          }
          res.end();
        })();
        return;
      }
      if (verdict.ok) {
        res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': `req-${received.length}` });
        res.end(CONVERSE_ANSWER);
        return;
      }
      // The shapes AWS JSON services answer with; the SDKs map x-amzn-errortype to the exception.
      const errorType = verdict.reason === 'unknown-key' || verdict.reason === 'bad-token' ? 'UnrecognizedClientException' : 'InvalidSignatureException';
      res.writeHead(403, { 'content-type': 'application/json', 'x-amzn-errortype': errorType, 'x-amzn-requestid': `req-${received.length}` });
      res.end(JSON.stringify({ message: verdict.detail }));
    });
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, port, received, close: closer(server) };
}

export interface ForwardedAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Sends a signed request to a fake on loopback as the sidecar would send it to AWS: same target, headers and body. */
export function sendTo(port: number, request: { method: string; url: URL; headers: Record<string, string | string[]>; body: Uint8Array }): Promise<ForwardedAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: request.method, path: `${request.url.pathname}${request.url.search}`, headers: request.headers },
      (res) => {
        void readBody(res).then((body) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: body.toString('utf8') }), reject);
      },
    );
    req.on('error', reject);
    req.end(Buffer.from(request.body));
  });
}

export interface StsCall {
  at: number;
  action: string;
  roleArn: string;
  roleSessionName: string;
  webIdentityToken: string;
}

export interface FakeSts {
  url: string;
  port: number;
  calls: StsCall[];
  issued: Array<TestCredentials & { expiration: Date }>;
  /** Mutable: applies to the next answers. */
  settings: { lifetimeMs: number; delayMs: number };
  close(): Promise<void>;
}

const xml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** STS and the container endpoints write expirations in whole seconds. */
const stsTime = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z');
const wholeSeconds = (ms: number): Date => new Date(Math.floor(ms / 1000) * 1000);

/** Fresh keys from `keys`, valid for `lifetimeMs`, recorded in `issued` (what each fake's `issued` lists). */
function issue(keys: FakeKeyRing, lifetimeMs: number, issued: Array<TestCredentials & { expiration: Date }>): { credentials: TestCredentials; expiration: Date } {
  const credentials = keys.mint();
  const expiration = wholeSeconds(Date.now() + lifetimeMs);
  issued.push({ ...credentials, expiration });
  return { credentials, expiration };
}

function stsError(res: http.ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'text/xml' });
  res.end(
    `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xml(message)}</Message></Error><RequestId>fake-request-id</RequestId></ErrorResponse>`,
  );
}

/** AssumeRoleWithWebIdentity as IRSA uses it: form-encoded POST in, XML out; other actions or a wrong role/token are refused. */
export async function startFakeSts(options: { keys: FakeKeyRing; roleArn: string; webIdentityToken: string; lifetimeMs: number; delayMs?: number }): Promise<FakeSts> {
  const calls: StsCall[] = [];
  const issued: FakeSts['issued'] = [];
  const settings = { lifetimeMs: options.lifetimeMs, delayMs: options.delayMs ?? 0 };
  const server = http.createServer((req, res) => {
    void readBody(req).then(async (body) => {
      const form = new URLSearchParams(body.toString('utf8'));
      const call: StsCall = {
        at: Date.now(),
        action: form.get('Action') ?? '',
        roleArn: form.get('RoleArn') ?? '',
        roleSessionName: form.get('RoleSessionName') ?? '',
        webIdentityToken: form.get('WebIdentityToken') ?? '',
      };
      calls.push(call);
      if (settings.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, settings.delayMs));
      if (req.method !== 'POST' || !String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded')) {
        stsError(res, 400, 'InvalidAction', 'expected a form-encoded POST');
        return;
      }
      if (call.action !== 'AssumeRoleWithWebIdentity' || form.get('Version') !== '2011-06-15') {
        stsError(res, 400, 'InvalidAction', `Could not find operation ${call.action}`);
        return;
      }
      if (call.webIdentityToken !== options.webIdentityToken) {
        stsError(res, 400, 'InvalidIdentityToken', 'Incorrect token audience');
        return;
      }
      if (call.roleArn !== options.roleArn) {
        stsError(res, 403, 'AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity');
        return;
      }
      const { credentials, expiration } = issue(options.keys, settings.lifetimeMs, issued);
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:default:app</SubjectFromWebIdentityToken>
    <Audience>sts.amazonaws.com</Audience>
    <AssumedRoleUser>
      <Arn>${xml(call.roleArn.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/'))}/${xml(call.roleSessionName)}</Arn>
      <AssumedRoleId>AROAFAKEROLEID00001:${xml(call.roleSessionName)}</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>${xml(credentials.sessionToken ?? '')}</SessionToken>
      <SecretAccessKey>${xml(credentials.secretAccessKey)}</SecretAccessKey>
      <Expiration>${stsTime(expiration)}</Expiration>
      <AccessKeyId>${xml(credentials.accessKeyId)}</AccessKeyId>
    </Credentials>
    <Provider>arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/FAKE</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>fake-${calls.length}</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>
`,
      );
    });
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, port, calls, issued, settings, close: closer(server) };
}

export interface ContainerCredentialsCall {
  at: number;
  path: string;
  authorization: string | undefined;
}

export interface FakeContainerCredentials {
  /** The full URI to put in AWS_CONTAINER_CREDENTIALS_FULL_URI. */
  url: string;
  calls: ContainerCredentialsCall[];
  issued: Array<TestCredentials & { expiration: Date }>;
  settings: { lifetimeMs: number };
  close(): Promise<void>;
}

/**
 * The ECS / EKS Pod Identity credentials endpoint: GET with the token in Authorization (when one
 * is configured), JSON out. A missing or wrong token gets 401 like the EKS agent.
 */
export async function startFakeContainerCredentials(options: { keys: FakeKeyRing; lifetimeMs: number; authorizationToken?: string; path?: string }): Promise<FakeContainerCredentials> {
  const path = options.path ?? '/v1/credentials';
  const calls: ContainerCredentialsCall[] = [];
  const issued: FakeContainerCredentials['issued'] = [];
  const settings = { lifetimeMs: options.lifetimeMs };
  const server = http.createServer((req, res) => {
    void readBody(req).then(() => {
      calls.push({ at: Date.now(), path: req.url ?? '', authorization: req.headers.authorization });
      if (req.method !== 'GET' || req.url !== path) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"Code":"NotFound","Message":"no such path"}');
        return;
      }
      if (options.authorizationToken !== undefined && req.headers.authorization !== options.authorizationToken) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end('{"Code":"AccessDeniedException","Message":"the authorization token is invalid"}');
        return;
      }
      const { credentials, expiration } = issue(options.keys, settings.lifetimeMs, issued);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          AccessKeyId: credentials.accessKeyId,
          SecretAccessKey: credentials.secretAccessKey,
          Token: credentials.sessionToken,
          AccountId: '123456789012',
          Expiration: stsTime(expiration),
        }),
      );
    });
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}${path}`, calls, issued, settings, close: closer(server) };
}

export interface ImdsCall {
  at: number;
  method: string;
  path: string;
  /** The x-aws-ec2-metadata-token header as received. */
  token: string | undefined;
  /** The x-aws-ec2-metadata-token-ttl-seconds header as received (the token PUT sends it). */
  ttlSeconds: string | undefined;
  /** What the fake answered. */
  status: number;
}

export interface FakeImds {
  /** The endpoint to put in AWS_EC2_METADATA_SERVICE_ENDPOINT (scheme, host and port; no path). */
  url: string;
  port: number;
  roleName: string;
  calls: ImdsCall[];
  /** Session tokens handed out by the token PUT, in order. */
  tokens: string[];
  issued: Array<TestCredentials & { expiration: Date }>;
  /** Mutable: applies to the next answers. `tokenStatus` other than 200 refuses token PUTs with that status. */
  settings: { lifetimeMs: number; tokenStatus: number };
  close(): Promise<void>;
}

const IMDS_TOKEN_PATH = '/latest/api/token';
const IMDS_CREDENTIALS_PATH = '/latest/meta-data/iam/security-credentials/';

/**
 * EC2 instance metadata with IMDSv2 required (HttpTokens=required): a session token comes from
 * `PUT /latest/api/token` with a TTL of 1 to 21600 seconds, and every GET must carry a live one
 * in x-aws-ec2-metadata-token, else 401 as the real service answers. A missing token gets 401 too,
 * so a client silently falling back to IMDSv1 fails here instead of passing unnoticed.
 */
export async function startFakeImds(options: { keys: FakeKeyRing; lifetimeMs: number; roleName?: string }): Promise<FakeImds> {
  const roleName = options.roleName ?? 'bedrock-app-instance-role';
  const calls: ImdsCall[] = [];
  const tokens: string[] = [];
  const issued: FakeImds['issued'] = [];
  const settings = { lifetimeMs: options.lifetimeMs, tokenStatus: 200 };
  /** Live tokens and when each stops being accepted. */
  const tokenExpiry = new Map<string, number>();
  const server = http.createServer((req, res) => {
    void readBody(req).then(() => {
      const call: ImdsCall = {
        at: Date.now(),
        method: req.method ?? '',
        path: req.url ?? '',
        token: single(req.headers['x-aws-ec2-metadata-token']),
        ttlSeconds: single(req.headers['x-aws-ec2-metadata-token-ttl-seconds']),
        status: 0,
      };
      calls.push(call);
      const answer = (status: number, body: string, headers: Record<string, string> = {}): void => {
        call.status = status;
        res.writeHead(status, { 'content-type': 'text/plain', ...headers });
        res.end(body);
      };

      if (call.path === IMDS_TOKEN_PATH) {
        if (call.method !== 'PUT') return answer(405, 'Method Not Allowed');
        if (settings.tokenStatus !== 200) return answer(settings.tokenStatus, 'Forbidden');
        const ttl = Number(call.ttlSeconds);
        if (!/^\d+$/.test(call.ttlSeconds ?? '') || ttl < 1 || ttl > 21600) return answer(400, 'Bad Request');
        const token = `AQAEAFakeImdsToken${tokens.length + 1}-${randomBytes(12).toString('base64url')}==`;
        tokens.push(token);
        tokenExpiry.set(token, Date.now() + ttl * 1000);
        return answer(200, token, { 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) });
      }
      if (call.method !== 'GET') return answer(405, 'Method Not Allowed');
      const expiresAt = call.token === undefined ? undefined : tokenExpiry.get(call.token);
      if (expiresAt === undefined || expiresAt <= Date.now()) return answer(401, 'Unauthorized');

      if (call.path === IMDS_CREDENTIALS_PATH) return answer(200, roleName);
      if (call.path !== `${IMDS_CREDENTIALS_PATH}${roleName}`) return answer(404, 'Not Found');
      const { credentials, expiration } = issue(options.keys, settings.lifetimeMs, issued);
      return answer(
        200,
        JSON.stringify({
          Code: 'Success',
          LastUpdated: stsTime(wholeSeconds(Date.now())),
          Type: 'AWS-HMAC',
          AccessKeyId: credentials.accessKeyId,
          SecretAccessKey: credentials.secretAccessKey,
          Token: credentials.sessionToken,
          Expiration: stsTime(expiration),
        }),
      );
    });
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, port, roleName, calls, tokens, issued, settings, close: closer(server) };
}
