/**
 * Golden files: each `test/fixtures/inject/<case>/input.yaml` goes through `genai-sidecar inject`
 * (in-process) and must give `expected.yaml` (and the warnings in `expected-warnings.txt`, when
 * any). The same pod templates, wrapped as the Pods their controllers would create, go through
 * the webhook's AdmissionReview handling; the returned JSONPatch, applied with fast-json-patch,
 * must give the same pod spec and annotations as the CLI. Every output, of either path, must pass
 * the strict Kubernetes OpenAPI schema (unknown fields rejected).
 *
 * Optional `args.txt` holds extra CLI flags for a case, one argument per line. Re-record with
 * `UPDATE_GOLDEN=1 npx jest test/unit/injectGolden`; without it a drifted golden fails the test.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { applyPatch, type Operation } from 'fast-json-patch';
import { parseAllDocuments } from 'yaml';
import { isObject, type JsonObject } from '../../src/inject/json';
import { templateOf, type PodTemplate } from '../../src/inject/podTemplate';
import type { Workload } from '../../src/inject/sidecarContainer';
import { podTemplateLocations, type Path } from '../../src/inject/workloads';
import { ADMISSION_API_VERSION, reviewAdmission } from '../../src/webhook/admission';
import { runCli } from '../fixtures/inject/runCli';
import { loadKubernetesSchemas, validateKubernetesObject } from '../helpers/k8sSchema';

const FIXTURES = path.resolve(__dirname, '../fixtures/inject');
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const CASES = fs
  .readdirSync(FIXTURES)
  .filter((name) => fs.statSync(path.join(FIXTURES, name)).isDirectory())
  .sort();

beforeAll(() => loadKubernetesSchemas());

test('every golden case is there', () => {
  expect(CASES).toEqual(
    expect.arrayContaining([
      'already-injected',
      'annotation-overrides',
      'bare-pod',
      'bedrock-opt-in',
      'cronjob',
      'daemonset',
      'deployment-with-comments',
      'host-network',
      'job',
      'legacy-sidecar',
      'multi-document',
      'opt-out',
      'statefulset',
      'upstream-flags',
      'user-env-kept',
    ]),
  );
});

describe.each(CASES)('%s', (name) => {
  const dir = path.join(FIXTURES, name);
  const inputFile = path.join(dir, 'input.yaml');
  const args = readArgs(dir);
  let output = '';
  let warnings = '';

  beforeAll(async () => {
    const run = await runCli(['inject', '-f', inputFile, ...args]);
    if (run.code !== 0) throw new Error(`inject failed with exit ${run.code}: ${run.stderr}`);
    output = run.stdout;
    warnings = run.stderr;
    if (UPDATE) {
      fs.writeFileSync(path.join(dir, 'expected.yaml'), output);
      const warningsFile = path.join(dir, 'expected-warnings.txt');
      if (warnings) fs.writeFileSync(warningsFile, warnings);
      else fs.rmSync(warningsFile, { force: true });
    }
  });

  test('inject writes expected.yaml', () => {
    expect(output).toBe(fs.readFileSync(path.join(dir, 'expected.yaml'), 'utf8'));
  });

  test('inject warns exactly as in expected-warnings.txt', () => {
    const file = path.join(dir, 'expected-warnings.txt');
    expect(warnings).toBe(fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');
  });

  test('injecting the output again changes nothing', async () => {
    const again = await runCli(['inject', '-f', '-', ...args], { stdin: output });
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(output);
  });

  test('every output document passes the strict Kubernetes schema', () => {
    const documents = parseAllDocuments(output).map((document) => document.toJS() as unknown);
    const objects = documents.filter((document) => document !== null);
    expect(objects.length).toBeGreaterThan(0);
    for (const object of objects) expect(validateKubernetesObject(object)).toEqual([]);
  });

  test('the webhook patches each pod into what inject wrote', async () => {
    const webhook = await runCli(['webhook', '--tls-cert', 'unused.crt', '--tls-key', 'unused.key', ...args]);
    expect(webhook.code).toBe(0);
    const [config] = webhook.webhookConfigs;
    if (config === undefined) throw new Error(`webhook did not start: ${webhook.stderr}`);

    const inputs = parseAllDocuments(fs.readFileSync(inputFile, 'utf8')).map((document) => document.toJS() as unknown);
    const outputs = parseAllDocuments(output).map((document) => document.toJS() as unknown);
    expect(outputs).toHaveLength(inputs.length);
    let templates = 0;
    inputs.forEach((input, index) => {
      for (const location of podTemplateLocations(input)) {
        templates += 1;
        const before = templateOf(valueAt(input, location.path));
        const after = templateOf(valueAt(outputs[index], location.path));
        const pod = admittedPod(before, location.workload);
        const uid = `uid-${name}-${templates}`;
        const { review } = reviewAdmission(JSON.parse(JSON.stringify(admissionReview(uid, pod))), config.injection);

        expect(review.response.uid).toBe(uid);
        expect(review.response.allowed).toBe(true);
        const patched = structuredClone(pod);
        if (review.response.patch !== undefined) {
          expect(review.response.patchType).toBe('JSONPatch');
          const operations = JSON.parse(Buffer.from(review.response.patch, 'base64').toString('utf8')) as Operation[];
          applyPatch(patched, operations, true);
        }
        expect(validateKubernetesObject(patched)).toEqual([]);
        expect(patched.spec).toEqual(after.spec);
        expect((patched.metadata as JsonObject).annotations).toEqual(after.metadata?.annotations);
        const webhookWarnings = (review.response.warnings ?? []).map((warning) => warning.replace(/^genai-sidecar: /, ''));
        expect(webhookWarnings).toEqual(cliWarnings(warnings, location.ref));
      }
    });
    expect(templates).toBeGreaterThan(0);
  });
});

function readArgs(dir: string): string[] {
  const file = path.join(dir, 'args.txt');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '');
}

function valueAt(root: unknown, at: Path): JsonObject {
  let current = root;
  for (const segment of at) current = (current as Record<string | number, unknown>)[segment];
  if (!isObject(current)) throw new Error(`no object at ${at.join('.')}`);
  return current;
}

function cliWarnings(stderr: string, ref: string): string[] {
  const prefix = `genai-sidecar: warning: ${ref}: `;
  return stderr
    .split('\n')
    .filter((line) => line.startsWith(prefix))
    .map((line) => line.slice(prefix.length));
}

/** The Pod a controller creates from the template, owned the way that controller owns it. */
function admittedPod(template: PodTemplate, workload: Workload): JsonObject {
  const metadata: JsonObject = structuredClone(template.metadata ?? {});
  const owner = ownerOf(workload);
  if (owner !== undefined) {
    delete metadata.name;
    metadata.generateName = `${owner.name}-`;
    metadata.ownerReferences = [{ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, uid: 'owner-uid', controller: true, blockOwnerDeletion: true }];
    if (owner.podTemplateHash !== undefined) metadata.labels = { ...(isObject(metadata.labels) ? metadata.labels : {}), 'pod-template-hash': owner.podTemplateHash };
  }
  return { apiVersion: 'v1', kind: 'Pod', metadata: { ...metadata, namespace: 'golden' }, spec: structuredClone(template.spec) };
}

function ownerOf(workload: Workload): { apiVersion: string; kind: string; name: string; podTemplateHash?: string } | undefined {
  const name = workload.name ?? 'unnamed';
  switch (workload.kind) {
    case 'Pod':
      return undefined;
    case 'Deployment':
      return { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${name}-5d8f7c9b6`, podTemplateHash: '5d8f7c9b6' };
    case 'CronJob':
      return { apiVersion: 'batch/v1', kind: 'Job', name: `${name}-29123456` };
    case 'Job':
      return { apiVersion: 'batch/v1', kind: 'Job', name };
    default:
      return { apiVersion: 'apps/v1', kind: workload.kind, name };
  }
}

function admissionReview(uid: string, pod: JsonObject): JsonObject {
  return {
    apiVersion: ADMISSION_API_VERSION,
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      namespace: 'golden',
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
      object: pod,
      oldObject: null,
      dryRun: false,
    },
  };
}
