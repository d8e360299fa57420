/**
 * The YAML side of `inject`: documents without a pod template come out byte for byte, injected
 * ones keep their comments and list style, `kind: List` items are injected, invalid YAML and bad
 * annotations are errors naming where.
 */
import { parseAllDocuments } from 'yaml';
import { InjectError } from '../../src/inject/errors';
import { injectManifests } from '../../src/inject/manifests';
import { defaultInjectOptions } from '../../src/inject/options';

const OPTIONS = defaultInjectOptions('1.2.3');

/** `dash` is the indentation of the list items under `containers:` (itself indented by 2). */
const POD = (name: string, dash: '  ' | '    ') => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  containers:
${dash}- name: app # the app
${dash}  image: app:1
`;

test('documents without pod templates are copied byte for byte, odd formatting included', () => {
  const text = `%YAML 1.2
---
# leading comment
apiVersion:   v1
kind: ConfigMap
metadata: {name: cfg}
data:
  key: 'single quoted'
...
---
apiVersion: example.com/v1
kind: Deployment   # not apps/v1: not ours
spec: {template: {spec: {containers: [{name: app}]}}}
`;
  const result = injectManifests(text, OPTIONS);
  expect(result.text).toBe(text);
  expect(result.reports).toEqual([]);
});

test.each([
  ['flush', '  ', '    '],
  ['indented', '    ', '        '],
] as const)('an injected document keeps its comments and its %s list style', (_style, dash, envDash) => {
  const result = injectManifests(POD('p', dash), OPTIONS);
  expect(result.text).toContain(`  containers:\n${dash}- name: app # the app\n${dash}  image: app:1\n${dash}  env:\n${envDash}- name: OPENAI_BASE_URL\n`);
  expect(result.reports).toEqual([{ ref: 'Pod/p', changed: true, warnings: [] }]);
});

test('every item of a List is injected', () => {
  const text = `apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: a}
  spec:
    template:
      spec:
        containers: [{name: app, image: "a:1"}]
- ${POD('b', '    ').replace(/\n/g, '\n  ').trimEnd()}
`;
  const result = injectManifests(text, OPTIONS);
  const [list] = parseAllDocuments(result.text).map((document) => document.toJS() as { items: Array<Record<string, any>> });
  expect(list?.items[0]?.spec.template.spec.initContainers[0].name).toBe('genai-sidecar');
  expect(list?.items[1]?.spec.initContainers[0].name).toBe('genai-sidecar');
  expect(result.reports.map((report) => report.ref)).toEqual(['Deployment/a', 'Pod/b']);
});

test('invalid YAML is an InjectError with its position', () => {
  expect(() => injectManifests('kind: Pod\nspec: [unclosed\n', OPTIONS)).toThrow(/^invalid YAML: .*line \d+, column \d+/);
});

test('a bad annotation is an InjectError naming the object', () => {
  const text = POD('p', '  ').replace('metadata:\n', 'metadata:\n  annotations:\n    genai-sidecar.io/cpu-limit: lots\n');
  const run = () => injectManifests(text, OPTIONS);
  expect(run).toThrow(InjectError);
  expect(run).toThrow('Pod/p: annotation genai-sidecar.io/cpu-limit: "lots" is not a Kubernetes quantity such as 100m or 128Mi');
});

test('a workload without a pod template is reported and left alone', () => {
  const text = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: empty\n';
  expect(injectManifests(text, OPTIONS)).toEqual({ text, reports: [{ ref: 'Deployment/empty', changed: false, warnings: ['has no pod template; left unchanged'] }] });
});

test('empty input gives empty output', () => {
  expect(injectManifests('', OPTIONS)).toEqual({ text: '', reports: [] });
});
