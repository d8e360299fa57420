/**
 * The strict validator of test/helpers/k8sSchema.ts, which every manifest test relies on: it must
 * reject what `kubeconform -strict` rejects (unknown fields at any depth, wrong types, missing
 * required fields, unknown kinds) and accept what the API server accepts (maps with any keys,
 * int-or-string ports, quantities).
 */
import { loadKubernetesSchemas, validateKubernetesObject } from '../helpers/k8sSchema';

beforeAll(() => loadKubernetesSchemas());

function deployment(container: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'app', labels: { 'app.kubernetes.io/name': 'app', 'any/key': 'x' }, annotations: { 'genai-sidecar.io/upstreams': 'openai=https://api.openai.com' } },
    spec: {
      selector: { matchLabels: { app: 'x' } },
      template: {
        metadata: { labels: { app: 'x' } },
        spec: {
          containers: [{ name: 'app', image: 'app:1', ports: [{ containerPort: 80, name: 'http' }], resources: { limits: { cpu: '500m', memory: 128 } }, ...container }],
          volumes: [{ name: 'tmp', emptyDir: {} }],
        },
      },
      ...extra,
    },
  };
}

const certificate = {
  apiVersion: 'cert-manager.io/v1',
  kind: 'Certificate',
  metadata: { name: 'tls', namespace: 'ns' },
  spec: { secretName: 'tls', dnsNames: ['a.ns.svc'], issuerRef: { name: 'ca', kind: 'Issuer' }, privateKey: { algorithm: 'ECDSA', size: 256 } },
};

test.each([
  ['a valid Deployment', deployment()],
  ['a ConfigMap with arbitrary keys', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { 'a.yml': 'x: 1', 'b.json': '{}' } }],
  ['a Service with a named target port', { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 443, targetPort: 'https' }] } }],
  ['a valid Certificate', certificate],
  ['a self-signed Issuer', { apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: { name: 'i' }, spec: { selfSigned: {} } }],
])('accepts %s', (_name, doc) => {
  expect(validateKubernetesObject(doc)).toEqual([]);
});

test.each([
  ['an unknown top-level field', { ...deployment(), extra: 1 }, 'Deployment/app: /extra: unknown field'],
  ['an unknown metadata field', { ...deployment(), metadata: { name: 'app', label: {} } }, '/metadata/label: unknown field'],
  ['a misspelt container field', deployment({ imagePullPolicyy: 'Always' }), '/spec/template/spec/containers/0/imagePullPolicyy: unknown field'],
  [
    'an unknown field deep in a volume',
    deployment({}, { template: { spec: { containers: [{ name: 'a' }], volumes: [{ name: 'v', configMap: { name: 'c', itmes: [] } }] } } }),
    '/volumes/0/configMap/itmes: unknown field',
  ],
  ['a wrong type', deployment({}, { replicas: '2' }), '/spec/replicas: must be integer'],
  [
    'a missing required field',
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'app' }, spec: { template: {} } },
    'missing required field "selector"',
  ],
  ['a bad enum value', deployment({ imagePullPolicy: 'Sometimes' }), '/imagePullPolicy: must be one of'],
  ['an unknown kind', { apiVersion: 'v1', kind: 'Podd', metadata: { name: 'p' } }, 'no schema for apiVersion v1, kind Podd'],
  ['an unknown Certificate field', { ...certificate, spec: { ...certificate.spec, dnsName: ['a'] } }, 'Certificate/tls: /spec/dnsName: unknown field'],
  ['an unknown field in a Certificate issuerRef', { ...certificate, spec: { ...certificate.spec, issuerRef: { name: 'ca', namespace: 'x' } } }, '/spec/issuerRef/namespace: unknown field'],
  ['a Certificate without secretName', { ...certificate, spec: { issuerRef: { name: 'ca' } } }, 'missing required field "secretName"'],
  ['an unknown field in Certificate metadata', { ...certificate, metadata: { name: 'tls', annotation: {} } }, '/metadata/annotation: unknown field'],
  ['a bad Certificate enum', { ...certificate, spec: { ...certificate.spec, usages: ['server'] } }, '/spec/usages/0: must be one of'],
  ['an Issuer without spec', { apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: { name: 'i' } }, 'missing required field "spec"'],
])('rejects %s', (_name, doc, expected) => {
  expect(validateKubernetesObject(doc).join('\n')).toContain(expected);
});
