/**
 * The admission webhook over real HTTPS: a self-signed certificate made with openssl for this
 * run, the server on port 0, requests that verify the certificate. Every answer is `allowed`,
 * echoes the uid, and its JSONPatch applies (fast-json-patch, validating) to the pod it came for.
 */
import { makeCertificate } from '../helpers/tls';
import * as fs from 'node:fs';
import https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyPatch, type Operation } from 'fast-json-patch';
import { silentLogger } from '../../src/log/logger';
import { defaultInjectOptions } from '../../src/inject/options';
import type { AdmissionReviewResponse } from '../../src/webhook/admission';
import { MAX_REVIEW_BYTES, WebhookSetupError, startWebhookServer, type RunningWebhook, type WebhookConfig } from '../../src/webhook/server';

let dir: string;
let ca: Buffer;
let config: WebhookConfig;
let webhook: RunningWebhook;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genai-webhook-'));
  const { cert, key } = makeCertificate(dir, 'webhook');
  ca = fs.readFileSync(cert);
  config = { listen: { host: '127.0.0.1', port: 0 }, tlsCertFile: cert, tlsKeyFile: key, injection: defaultInjectOptions('1.2.3') };
  webhook = await startWebhookServer(config, silentLogger);
});

afterAll(async () => {
  await webhook?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  contentType: string | undefined;
  body: string;
}

function request(method: string, urlPath: string, body?: string | Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${webhook.url}${urlPath}`,
      { method, ca, headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function mutate(body: string | Buffer): Promise<AdmissionReviewResponse> {
  const reply = await request('POST', '/mutate', body);
  expect(reply.status).toBe(200);
  expect(reply.contentType).toMatch(/^application\/json/);
  return JSON.parse(reply.body) as AdmissionReviewResponse;
}

type Pod = { apiVersion: string; kind: string; metadata: Record<string, unknown>; spec: Record<string, unknown> };

function deploymentPod(annotations?: Record<string, string>): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'chat-5d8f7c9b6-',
      namespace: 'shop',
      labels: { app: 'chat', 'pod-template-hash': '5d8f7c9b6' },
      ...(annotations ? { annotations } : {}),
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'chat-5d8f7c9b6', uid: 'rs-uid', controller: true }],
    },
    spec: { containers: [{ name: 'chat', image: 'chat:1' }] },
  };
}

function review(uid: string, object: unknown, overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'shop',
      operation: 'CREATE',
      object,
      ...overrides,
    },
  });
}

function patchOf(answer: AdmissionReviewResponse): Operation[] {
  expect(answer.response.patchType).toBe('JSONPatch');
  return JSON.parse(Buffer.from(answer.response.patch ?? '', 'base64').toString('utf8')) as Operation[];
}

test('health endpoints answer over HTTPS with the test certificate', async () => {
  expect(await request('GET', '/healthz')).toMatchObject({ status: 200, body: '{"status":"ok"}' });
  expect(await request('GET', '/readyz')).toMatchObject({ status: 200, body: '{"status":"ready"}' });
});

test('a pod is injected: uid echoed, the patch applies and adds the sidecar, the SDK variables and the status', async () => {
  const pod = deploymentPod();
  const answer = await mutate(review('3f1e-uid', pod));
  expect(answer).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: '3f1e-uid', allowed: true } });
  expect(answer.response.warnings).toBeUndefined();
  const operations = patchOf(answer);
  expect(operations.map((operation) => `${operation.op} ${operation.path}`)).toEqual(['add /metadata/annotations', 'add /spec/containers/0/env', 'add /spec/initContainers']);

  const patched = applyPatch(structuredClone(pod), operations, true).newDocument;
  expect(patched.metadata.annotations).toEqual({ 'genai-sidecar.io/status': 'injected; version=1.2.3' });
  const [sidecar] = patched.spec.initContainers as Array<{ name: string; restartPolicy: string; env: Array<{ name: string; value?: string }> }>;
  expect(sidecar).toMatchObject({ name: 'genai-sidecar', restartPolicy: 'Always' });
  expect(sidecar?.env.find((entry) => entry.name === 'OTEL_RESOURCE_ATTRIBUTES')?.value).toContain('k8s.workload.name=chat,k8s.workload.kind=Deployment');
  expect((patched.spec.containers as Array<{ env: unknown[] }>)[0]?.env).toContainEqual({ name: 'OPENAI_BASE_URL', value: 'http://127.0.0.1:8787/openai/v1' });
});

test('annotation keys in the patch are escaped per RFC 6901', async () => {
  const pod = deploymentPod({ 'team.example.com/owner': 'search' });
  const operations = patchOf(await mutate(review('escape-uid', pod)));
  expect(operations[0]).toEqual({ op: 'add', path: '/metadata/annotations/genai-sidecar.io~1status', value: 'injected; version=1.2.3' });
  expect(applyPatch(structuredClone(pod), operations, true).newDocument.metadata.annotations).toEqual({
    'team.example.com/owner': 'search',
    'genai-sidecar.io/status': 'injected; version=1.2.3',
  });
});

test('a pod without any opt-in is injected: which pods are sent is the webhook configuration\'s decision', async () => {
  const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'plain' }, spec: { containers: [{ name: 'app', image: 'app:1' }] } };
  const answer = await mutate(review('plain-uid', pod));
  expect(answer.response.allowed).toBe(true);
  expect(applyPatch(structuredClone(pod), patchOf(answer), true).newDocument.spec.initContainers).toHaveLength(1);
});

test.each([
  ['an opted-out pod', deploymentPod({ 'genai-sidecar.io/inject': 'false' }), 'genai-sidecar: opted out with genai-sidecar.io/inject: "false"; left unchanged'],
  [
    'a bad annotation',
    deploymentPod({ 'genai-sidecar.io/upstreams': 'openai=not a url' }),
    'genai-sidecar: annotation genai-sidecar.io/upstreams "openai=not a url": "not a url" is not an absolute URL; pod admitted without the sidecar',
  ],
])('%s is admitted unchanged with a warning', async (_name, pod, warning) => {
  const answer = await mutate(review('warn-uid', pod));
  expect(answer.response).toEqual({ uid: 'warn-uid', allowed: true, warnings: [warning] });
});

test.each([
  ['bad JSON', '{"apiVersion": "admission.k8s.io/v1", ', '', 'genai-sidecar: the request body is not JSON; admitted unchanged'],
  ['JSON that is not an AdmissionReview', '{"hello": "world"}', '', 'genai-sidecar: not an admission.k8s.io/v1 AdmissionReview request; admitted unchanged'],
  [
    'an AdmissionReview v1beta1',
    review('old-uid', deploymentPod()).replace('admission.k8s.io/v1', 'admission.k8s.io/v1beta1'),
    'old-uid',
    'genai-sidecar: not an admission.k8s.io/v1 AdmissionReview request; admitted unchanged',
  ],
  ['a review without a pod', review('empty-uid', null), 'empty-uid', 'genai-sidecar: the request carries no pod; admitted unchanged'],
])('%s is allowed, with a warning', async (_name, body, uid, warning) => {
  const answer = await mutate(body);
  expect(answer.response).toEqual({ uid, allowed: true, warnings: [warning] });
});

test('a body over the size limit is allowed, with a warning', async () => {
  const huge = review('huge-uid', { ...deploymentPod(), padding: 'x'.repeat(MAX_REVIEW_BYTES) });
  const answer = await mutate(huge);
  expect(answer.response.allowed).toBe(true);
  expect(answer.response.patch).toBeUndefined();
  expect(answer.response.warnings?.[0]).toMatch(/^genai-sidecar: the request could not be read \(.*too large.*\); admitted unchanged$/i);
});

test.each([
  ['an UPDATE', { operation: 'UPDATE' }],
  ['a Deployment', { kind: { group: 'apps', version: 'v1', kind: 'Deployment' } }],
  ['a subresource', { subResource: 'ephemeralcontainers' }],
])('%s is not ours: allowed, no patch, no warning', async (_name, overrides) => {
  const answer = await mutate(review('other-uid', deploymentPod(), overrides));
  expect(answer.response).toEqual({ uid: 'other-uid', allowed: true });
});

describe('start-up', () => {
  test('a key that does not match the certificate is a WebhookSetupError', async () => {
    const other = makeCertificate(dir, 'other');
    await expect(startWebhookServer({ ...config, tlsKeyFile: other.key }, silentLogger)).rejects.toThrow(WebhookSetupError);
  });

  test('a missing certificate file is a WebhookSetupError naming it', async () => {
    await expect(startWebhookServer({ ...config, tlsCertFile: path.join(dir, 'missing.crt') }, silentLogger)).rejects.toThrow(
      `cannot read the TLS certificate ${path.join(dir, 'missing.crt')} (ENOENT)`,
    );
  });

  test('close() stops the server', async () => {
    const second = await startWebhookServer(config, silentLogger);
    await second.close();
    await expect(
      new Promise((resolve, reject) => https.get(`${second.url}/healthz`, { ca }, resolve).on('error', reject)),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
