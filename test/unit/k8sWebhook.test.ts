/**
 * The MutatingWebhookConfiguration of k8s/injector, rendered by the real kubectl: the settings
 * that keep a webhook from ever blocking a deployment, which pods it is asked about (evaluated
 * with Kubernetes' label-selector semantics), and the cert-manager chain that makes the API
 * server trust it. The "catches" table breaks a rendered copy on purpose to show each rule can fail.
 */
import path from 'node:path';
import type { IMutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { ILabelSelector } from '@kubernetes-models/apimachinery/apis/meta/v1/LabelSelector';
import { renderKustomization, type KubernetesObject } from '../helpers/kubectl';

type Objects = KubernetesObject[];
type Webhook = NonNullable<IMutatingWebhookConfiguration['webhooks']>[number];

const INJECT = 'genai-sidecar.io/inject';
const ALWAYS_EXCLUDED = ['kube-system', 'kube-public', 'genai-observability'];

interface CertificateSpec {
  secretName: string;
  dnsNames?: string[];
  isCA?: boolean;
  issuerRef: { name: string; kind?: string };
}
interface IssuerSpec {
  selfSigned?: object;
  ca?: { secretName: string };
}

let injector: Objects;

beforeAll(() => {
  injector = renderKustomization(path.resolve(__dirname, '../../k8s/injector'));
});

function copy(): Objects {
  return structuredClone(injector);
}

test('every webhook is non-blocking, fast, side-effect free and answered by the injector Service', () => {
  expect(settingsProblems(copy())).toEqual([]);
});

test('no webhook ever matches its own namespace or the control plane, even when opted in', () => {
  expect(exclusionProblems(copy())).toEqual([]);
});

test('the serving certificate comes from a self-signed CA chain that cert-manager injects', () => {
  expect(certificateProblems(copy())).toEqual([]);
});

// [namespace labels, pod labels, expected: is the pod sent to the injector]
const OPT_IN: [string, Record<string, string>, Record<string, string>, boolean][] = [
  ['namespace opted in', { [INJECT]: 'enabled' }, {}, true],
  ['namespace opted in, pod opted in too (sent once)', { [INJECT]: 'enabled' }, { [INJECT]: 'true' }, true],
  ['namespace opted in, pod opted out', { [INJECT]: 'enabled' }, { [INJECT]: 'false' }, false],
  ['pod opted in, namespace unlabelled', {}, { [INJECT]: 'true' }, true],
  ['pod opted in, namespace disabled', { [INJECT]: 'disabled' }, { [INJECT]: 'true' }, false],
  ['nobody opted in', {}, {}, false],
  ['pod labelled with another value', {}, { [INJECT]: 'yes' }, false],
  ['namespace labelled with another value', { [INJECT]: 'true' }, {}, false],
];

test.each(OPT_IN)('%s', (_name, namespaceLabels, podLabels, injected) => {
  const matching = webhooks(copy()).filter((w) => calledFor(w, 'team-a', namespaceLabels, podLabels));
  // One webhook at most: the same pod must never be sent twice.
  expect(matching.length).toBe(injected ? 1 : 0);
});

type Mutation = (objects: Objects) => void;
const CATCHES: [string, (objects: Objects) => string[], Mutation, string][] = [
  ['failurePolicy Fail', settingsProblems, (o) => (webhooks(o)[0]!.failurePolicy = 'Fail'), 'failurePolicy'],
  ['no timeout', settingsProblems, (o) => delete webhooks(o)[1]!.timeoutSeconds, 'timeoutSeconds'],
  ['timeout of 30 s', settingsProblems, (o) => (webhooks(o)[0]!.timeoutSeconds = 30), 'timeoutSeconds'],
  ['side effects', settingsProblems, (o) => (webhooks(o)[0]!.sideEffects = 'Some'), 'sideEffects'],
  ['v1beta1 reviews', settingsProblems, (o) => (webhooks(o)[0]!.admissionReviewVersions = ['v1beta1', 'v1']), 'admissionReviewVersions'],
  ['also on UPDATE', settingsProblems, (o) => webhooks(o)[0]!.rules![0]!.operations!.push('UPDATE'), 'rules'],
  ['wrong Service', settingsProblems, (o) => (webhooks(o)[1]!.clientConfig.service!.name = 'injector'), 'Service'],
  ['Service without 443', settingsProblems, (o) => (service(o).spec!.ports![0]!.port = 8443), '443'],
  ['own namespace not excluded', exclusionProblems, (o) => (webhooks(o)[0]!.namespaceSelector = { matchLabels: { [INJECT]: 'enabled' } }), 'genai-sidecar-system'],
  ['kube-system reachable by pod label', exclusionProblems, (o) => delete webhooks(o)[1]!.namespaceSelector, 'kube-system'],
  ['no CA injection', certificateProblems, (o) => delete mutatingConfiguration(o).metadata!.annotations, 'inject-ca-from'],
  ['certificate for another host', certificateProblems, (o) => (certificateSpec(o, 'genai-sidecar-injector-tls').dnsNames = ['injector.example.com']), 'dnsNames'],
  ['mounted Secret is not the certificate', certificateProblems, (o) => (certificateSpec(o, 'genai-sidecar-injector-tls').secretName = 'other'), 'Secret'],
  ['serving cert self-signed', certificateProblems, (o) => (certificateSpec(o, 'genai-sidecar-injector-tls').issuerRef.name = 'genai-sidecar-selfsigned'), 'CA'],
];

test.each(CATCHES)('catches: %s', (_name, rule, mutate, expected) => {
  const objects = copy();
  expect(rule(objects)).toEqual([]);
  mutate(objects);
  expect(rule(objects).join('\n')).toContain(expected);
});

// ---------------------------------------------------------------------------------------------
// Rules

function settingsProblems(objects: Objects): string[] {
  const svc = service(objects);
  const deployment = ofKind<IDeployment>(objects, 'Deployment')[0];
  const ports = deployment?.spec?.template.spec?.containers.flatMap((c) => c.ports ?? []) ?? [];
  return webhooks(objects).flatMap((w) => {
    const at = `webhook ${w.name}`;
    const problems: string[] = [];
    if (w.failurePolicy !== 'Ignore') problems.push(`${at}: failurePolicy must be Ignore, so the webhook never blocks a deployment`);
    if (w.timeoutSeconds === undefined || w.timeoutSeconds > 10) problems.push(`${at}: timeoutSeconds must be set and at most 10`);
    if (w.sideEffects !== 'None') problems.push(`${at}: sideEffects must be None`);
    if (JSON.stringify(w.admissionReviewVersions) !== '["v1"]') problems.push(`${at}: admissionReviewVersions must be [v1]`);
    const [rule, ...others] = w.rules ?? [];
    const podCreateOnly =
      others.length === 0 &&
      same(rule?.operations, ['CREATE']) &&
      same(rule?.apiGroups, ['']) &&
      same(rule?.apiVersions, ['v1']) &&
      same(rule?.resources, ['pods']) &&
      rule?.scope === 'Namespaced';
    if (!podCreateOnly) problems.push(`${at}: rules must cover pod CREATE only`);
    const ref = w.clientConfig.service;
    if (!ref || ref.name !== svc.metadata?.name || ref.namespace !== svc.metadata?.namespace || ref.path !== '/mutate') {
      problems.push(`${at}: clientConfig must call the injector Service at /mutate`);
    }
    const exposed = svc.spec?.ports?.find((p) => p.port === (ref?.port ?? 443));
    const target = exposed && ports.find((p) => p.name === exposed.targetPort || p.containerPort === exposed.targetPort);
    if (!exposed || exposed.port !== 443 || target?.containerPort !== 8443) problems.push(`${at}: the Service must forward 443 to the container's 8443`);
    return problems;
  });
}

function exclusionProblems(objects: Objects): string[] {
  const own = service(objects).metadata?.namespace ?? '';
  const optedIn = { [INJECT]: 'enabled' };
  const podOptedIn = { [INJECT]: 'true' };
  return webhooks(objects).flatMap((w) =>
    [own, ...ALWAYS_EXCLUDED]
      .filter((namespace) => calledFor(w, namespace, optedIn, podOptedIn) || calledFor(w, namespace, {}, podOptedIn))
      .map((namespace) => `webhook ${w.name} would inject pods in namespace ${namespace}`),
  );
}

function certificateProblems(objects: Objects): string[] {
  const problems: string[] = [];
  const svc = service(objects);
  const namespace = svc.metadata?.namespace ?? '';
  const annotation = mutatingConfiguration(objects).metadata?.annotations?.['cert-manager.io/inject-ca-from'] ?? '';
  const [certNamespace, certName] = annotation.split('/');
  const serving = certNamespace === namespace ? certificates(objects).get(certName ?? '') : undefined;
  if (!serving) return [`the MutatingWebhookConfiguration needs cert-manager.io/inject-ca-from: ${namespace}/<Certificate>, got "${annotation}"`];

  const host = `${String(svc.metadata?.name)}.${namespace}.svc`;
  if (!serving.dnsNames?.includes(host)) problems.push(`Certificate ${String(certName)}: dnsNames must include ${host}, the name the API server calls`);
  const deployment = ofKind<IDeployment>(objects, 'Deployment')[0];
  const secrets = deployment?.spec?.template.spec?.volumes?.map((v) => v.secret?.secretName) ?? [];
  if (!secrets.includes(serving.secretName)) problems.push(`Certificate ${String(certName)}: its Secret ${serving.secretName} is not the one the webhook mounts`);

  const caIssuer = issuers(objects).get(serving.issuerRef.name);
  const caCertificate = [...certificates(objects).values()].find((cert) => cert.secretName === caIssuer?.ca?.secretName);
  const root = caCertificate && issuers(objects).get(caCertificate.issuerRef.name);
  if (!caIssuer?.ca || !caCertificate?.isCA || !root?.selfSigned) {
    problems.push(`Certificate ${String(certName)}: must be issued by a CA Issuer whose isCA Certificate comes from a selfSigned Issuer`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Kubernetes semantics and navigation

/** Whether the API server calls this webhook for a pod created in `namespace`. */
function calledFor(w: Webhook, namespace: string, namespaceLabels: Record<string, string>, podLabels: Record<string, string>): boolean {
  // The API server labels every namespace with its own name.
  const allNamespaceLabels = { ...namespaceLabels, 'kubernetes.io/metadata.name': namespace };
  return matchesSelector(w.namespaceSelector, allNamespaceLabels) && matchesSelector(w.objectSelector, podLabels);
}

/** Label-selector semantics: all terms ANDed; an absent or empty selector matches everything. */
function matchesSelector(selector: ILabelSelector | undefined, labels: Record<string, string>): boolean {
  const matchLabels = Object.entries(selector?.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  return (
    matchLabels &&
    (selector?.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
      const value = labels[key];
      switch (operator) {
        case 'In':
          return value !== undefined && values.includes(value);
        case 'NotIn':
          return value === undefined || !values.includes(value);
        case 'Exists':
          return value !== undefined;
        case 'DoesNotExist':
          return value === undefined;
        default:
          throw new Error(`unknown selector operator ${operator}`);
      }
    })
  );
}

function same(list: string[] | undefined, expected: string[]): boolean {
  return JSON.stringify(list) === JSON.stringify(expected);
}

function ofKind<T>(objects: Objects, kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as unknown as T[];
}

function mutatingConfiguration(objects: Objects): IMutatingWebhookConfiguration {
  const [configuration] = ofKind<IMutatingWebhookConfiguration>(objects, 'MutatingWebhookConfiguration');
  if (!configuration) throw new Error('no MutatingWebhookConfiguration');
  return configuration;
}

function webhooks(objects: Objects): Webhook[] {
  return mutatingConfiguration(objects).webhooks ?? [];
}

function service(objects: Objects): IService {
  const [svc] = ofKind<IService>(objects, 'Service');
  if (!svc) throw new Error('no Service');
  return svc;
}

function certificates(objects: Objects): Map<string, CertificateSpec> {
  return new Map(objects.filter((o) => o.kind === 'Certificate').map((o) => [o.metadata.name, (o as unknown as { spec: CertificateSpec }).spec]));
}

function certificateSpec(objects: Objects, name: string): CertificateSpec {
  const spec = certificates(objects).get(name);
  if (!spec) throw new Error(`no Certificate ${name}`);
  return spec;
}

function issuers(objects: Objects): Map<string, IssuerSpec> {
  return new Map(objects.filter((o) => o.kind === 'Issuer').map((o) => [o.metadata.name, (o as unknown as { spec: IssuerSpec }).spec]));
}
