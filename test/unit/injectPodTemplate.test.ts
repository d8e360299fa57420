/**
 * The one injection function, on pod templates built in the test: the user's environment is
 * never overwritten, init containers are never touched, injection is idempotent, pods that must
 * be left alone are, bad annotations are errors, and the sidecar accepts the configuration it
 * is given (checked with the sidecar's own flag resolver).
 */
import { resolveRunConfig } from '../../src/cli/runFlags';
import { InjectError } from '../../src/inject/errors';
import type { JsonObject } from '../../src/inject/json';
import { defaultInjectOptions, type InjectOptions } from '../../src/inject/options';
import { injectPodTemplate, type PodTemplate } from '../../src/inject/podTemplate';
import { SIDECAR_ENV, type Workload } from '../../src/inject/sidecarContainer';
import { podTemplateLocations, workloadOfPod } from '../../src/inject/workloads';

const VERSION = '1.2.3';
const WORKLOAD: Workload = { kind: 'Deployment', name: 'chat' };
const OPTIONS = defaultInjectOptions(VERSION);

function template(overrides: { annotations?: Record<string, unknown>; spec?: JsonObject } = {}): PodTemplate {
  return {
    metadata: { labels: { app: 'chat' }, ...(overrides.annotations ? { annotations: overrides.annotations } : {}) },
    spec: { containers: [{ name: 'app', image: 'chat:1' }], ...overrides.spec },
  };
}

function inject(input: PodTemplate, options: Partial<InjectOptions> = {}, workload: Workload = WORKLOAD) {
  return injectPodTemplate(input, workload, { ...OPTIONS, ...options });
}

type Container = { name: string; env?: Array<{ name: string; value?: string; valueFrom?: unknown }>; [key: string]: unknown };
const containers = (result: PodTemplate, key = 'containers'): Container[] => (result.spec?.[key] ?? []) as Container[];
const envOf = (container: Container | undefined): Record<string, string | undefined> =>
  Object.fromEntries((container?.env ?? []).map((entry) => [entry.name, entry.value]));
const sidecarOf = (result: PodTemplate): Container | undefined =>
  [...containers(result, 'initContainers'), ...containers(result)].find((container) => container.name === 'genai-sidecar');

describe('the app containers', () => {
  test('a variable the user set is never overwritten, by value or valueFrom', () => {
    const input = template({
      spec: {
        containers: [
          {
            name: 'app',
            env: [
              { name: 'OPENAI_BASE_URL', value: 'https://gateway.internal/v1' },
              { name: 'ANTHROPIC_BASE_URL', valueFrom: { secretKeyRef: { name: 'urls', key: 'anthropic' } } },
            ],
          },
        ],
      },
    });
    const result = inject(input);
    const [app] = containers(result.template);
    const names = (app?.env ?? []).map((entry) => entry.name);
    expect(envOf(app).OPENAI_BASE_URL).toBe('https://gateway.internal/v1');
    expect(app?.env?.find((entry) => entry.name === 'ANTHROPIC_BASE_URL')).toEqual({
      name: 'ANTHROPIC_BASE_URL',
      valueFrom: { secretKeyRef: { name: 'urls', key: 'anthropic' } },
    });
    expect(new Set(names).size).toBe(names.length);
    expect(envOf(app).GOOGLE_GEMINI_BASE_URL).toBe('http://127.0.0.1:8787/gemini');
    expect(result.warnings).toEqual([
      'container "app" sets OPENAI_BASE_URL itself; kept (calls bypass the sidecar unless it is http://127.0.0.1:8787/openai/v1)',
      'container "app" sets ANTHROPIC_BASE_URL itself; kept (calls bypass the sidecar unless it is http://127.0.0.1:8787/anthropic)',
    ]);
  });

  test('a variable already pointing at the sidecar is kept without a warning', () => {
    const input = template({ spec: { containers: [{ name: 'app', env: [{ name: 'OPENAI_BASE_URL', value: 'http://127.0.0.1:8787/openai/v1' }] }] } });
    const result = inject(input, { upstreams: ['openai=https://api.openai.com'] });
    expect(containers(result.template)[0]?.env).toEqual([{ name: 'OPENAI_BASE_URL', value: 'http://127.0.0.1:8787/openai/v1' }]);
    expect(result.warnings).toEqual([]);
  });

  test('every app container gets the base URLs of exactly the configured routes', () => {
    const input = template({ spec: { containers: [{ name: 'app' }, { name: 'worker' }] } });
    const result = inject(input, { upstreams: ['anthropic=https://api.anthropic.com', 'local:vllm=http://vllm:8000', 'eu:openai=https://eu.api.openai.com'] });
    for (const container of containers(result.template).filter((c) => c.name !== 'genai-sidecar')) {
      expect(container.env).toEqual([
        { name: 'ANTHROPIC_BASE_URL', value: 'http://127.0.0.1:8787/anthropic' },
        { name: 'OPENAI_BASE_URL', value: 'http://127.0.0.1:8787/eu/v1' },
      ]);
    }
  });

  test('two routes for one SDK variable: the first wins, with a warning', () => {
    const result = inject(template(), { upstreams: ['openai=https://api.openai.com', 'eu:openai=https://eu.api.openai.com'] });
    expect(envOf(containers(result.template)[0]).OPENAI_BASE_URL).toBe('http://127.0.0.1:8787/openai/v1');
    expect(result.warnings).toEqual(['routes "openai" and "eu" both map to OPENAI_BASE_URL; it points at "openai"']);
  });

  test('envFrom cannot be seen, so its containers get a warning', () => {
    const input = template({ spec: { containers: [{ name: 'app', envFrom: [{ configMapRef: { name: 'cfg' } }] }] } });
    expect(inject(input).warnings).toEqual(['container "app" uses envFrom; an SDK base-URL variable set there is overridden by the injected one']);
  });

  test.each([false, true])('init containers are never touched (legacy sidecar: %s)', (legacySidecar) => {
    const migrate = { name: 'migrate', image: 'chat:1', args: ['migrate'] };
    const input = template({ spec: { initContainers: [migrate], containers: [{ name: 'app' }] } });
    const result = inject(input, { legacySidecar });
    expect(containers(result.template, 'initContainers')[0]).toEqual(migrate);
  });

  test('a port the sidecar uses is reported', () => {
    const input = template({ spec: { containers: [{ name: 'app', ports: [{ containerPort: 8787 }] }] } });
    expect(inject(input).warnings).toEqual(['container "app" declares port 8787, which the sidecar listens on']);
  });
});

describe('the sidecar container', () => {
  test('is a native sidecar by default: the last init container, restartPolicy Always, with a startup probe', () => {
    const input = template({ spec: { initContainers: [{ name: 'migrate' }], containers: [{ name: 'app' }] } });
    const result = inject(input);
    const init = containers(result.template, 'initContainers');
    expect(init.map((c) => c.name)).toEqual(['migrate', 'genai-sidecar']);
    expect(init[1]).toMatchObject({
      restartPolicy: 'Always',
      startupProbe: { httpGet: { path: '/readyz', port: 'genai-admin' } },
      ports: [{ name: 'genai-admin', containerPort: 8788 }],
    });
    expect(containers(result.template).map((c) => c.name)).toEqual(['app']);
  });

  test('is a regular last container with --legacy-sidecar, and a Job is warned that it will not complete', () => {
    const input = template({ spec: { restartPolicy: 'Never', containers: [{ name: 'app' }] } });
    const result = inject(input, { legacySidecar: true });
    expect(containers(result.template).map((c) => c.name)).toEqual(['app', 'genai-sidecar']);
    expect(sidecarOf(result.template)?.restartPolicy).toBeUndefined();
    expect(result.template.spec?.initContainers).toBeUndefined();
    expect(result.warnings).toEqual([
      'with a legacy sidecar this pod (restartPolicy Never) never completes because the sidecar keeps running; use a native sidecar (Kubernetes 1.29+)',
    ]);
  });

  test('is hardened, probed and limited', () => {
    const sidecar = sidecarOf(inject(template()).template);
    expect(sidecar).toMatchObject({
      image: 'ghcr.io/genai-sidecar/genai-sidecar:1.2.3',
      args: ['run'],
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 65532,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      },
      resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '192Mi' } },
      livenessProbe: { httpGet: { path: '/healthz', port: 'genai-admin' } },
      readinessProbe: { httpGet: { path: '/readyz', port: 'genai-admin' } },
    });
  });

  test('uses the environment variables `genai-sidecar run` reads', () => {
    expect(SIDECAR_ENV).toEqual({
      listen: 'GENAI_SIDECAR_LISTEN',
      adminListen: 'GENAI_SIDECAR_ADMIN_LISTEN',
      upstreams: 'GENAI_SIDECAR_UPSTREAMS',
      headerAttributes: 'GENAI_SIDECAR_HEADER_ATTRIBUTES',
      otlpEndpoint: 'OTEL_EXPORTER_OTLP_ENDPOINT',
      serviceName: 'OTEL_SERVICE_NAME',
      resourceAttributes: 'OTEL_RESOURCE_ATTRIBUTES',
      metricsExporter: 'OTEL_METRICS_EXPORTER',
    });
  });

  test('the sidecar accepts its injected environment, with the pod identity filled in by the kubelet', () => {
    const result = inject(template(), {
      upstreams: ['openai=https://api.openai.com', 'local:vllm=http://vllm.models:8000'],
      headerAttributes: ['x-tenant-id=tenant'],
      collectorEndpoint: 'http://collector.monitoring:4318',
    });
    const kubelet: Record<string, string> = { POD_NAME: 'chat-5d8f7c9b6-abcde', POD_NAMESPACE: 'shop', POD_UID: '0b9a3c1e-uid' };
    const env: Record<string, string> = {};
    for (const entry of sidecarOf(result.template)?.env ?? []) {
      env[entry.name] = entry.value === undefined ? (kubelet[entry.name] ?? '') : entry.value.replace(/\$\((\w+)\)/g, (_match, name: string) => env[name] ?? '');
    }
    const config = resolveRunConfig({}, env, VERSION);
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 8787 });
    expect(config.adminListen).toEqual({ host: '0.0.0.0', port: 8788 });
    expect(config.routes.map((route) => [route.name, route.provider.key, route.target.href])).toEqual([
      ['openai', 'openai', 'https://api.openai.com/'],
      ['local', 'vllm', 'http://vllm.models:8000/'],
    ]);
    expect(config.headerAttributes).toEqual([{ header: 'x-tenant-id', attribute: 'tenant' }]);
    expect(config.telemetry.metricsUrl).toBe('http://collector.monitoring:4318/v1/metrics');
    expect(config.telemetry.serviceName).toBe('genai-sidecar');
    expect(config.telemetry.resourceAttributes).toEqual({
      'k8s.pod.name': 'chat-5d8f7c9b6-abcde',
      'k8s.namespace.name': 'shop',
      'k8s.pod.uid': '0b9a3c1e-uid',
      'service.instance.id': '0b9a3c1e-uid',
      'k8s.workload.name': 'chat',
      'k8s.workload.kind': 'Deployment',
    });
  });
});

describe('idempotency and pods left alone', () => {
  test('injecting an injected template changes nothing and says nothing', () => {
    const once = inject(template({ annotations: { team: 'search' } }));
    expect(once.changed).toBe(true);
    expect(once.template.metadata?.annotations).toEqual({ team: 'search', 'genai-sidecar.io/status': 'injected; version=1.2.3' });
    const twice = inject(once.template);
    expect(twice).toEqual({ changed: false, template: once.template, warnings: [] });
  });

  test('the input is never modified', () => {
    const input = template({ spec: { initContainers: [{ name: 'migrate' }], containers: [{ name: 'app', env: [{ name: 'A', value: '1' }] }] } });
    const copy = structuredClone(input);
    inject(input);
    inject(input, { legacySidecar: true });
    expect(input).toEqual(copy);
  });

  test.each([
    ['opt-out annotation', template({ annotations: { 'genai-sidecar.io/inject': 'false' } }), 'opted out with genai-sidecar.io/inject: "false"; left unchanged'],
    [
      'hostNetwork',
      template({ spec: { hostNetwork: true, containers: [{ name: 'app' }] } }),
      "uses hostNetwork, so the sidecar's ports 8787 and 8788 would be the node's and clash between pods; left unchanged",
    ],
    [
      'status annotation without the container',
      template({ annotations: { 'genai-sidecar.io/status': 'injected; version=0.0.1' } }),
      'has genai-sidecar.io/status but no genai-sidecar container; left unchanged (remove the annotation to inject again)',
    ],
    [
      'a genai-sidecar container added by hand',
      template({ spec: { containers: [{ name: 'app' }, { name: 'genai-sidecar', image: 'mine' }] } }),
      'already has a container named genai-sidecar; left unchanged',
    ],
  ])('%s: unchanged, with a warning', (_name, input, warning) => {
    expect(inject(input)).toEqual({ changed: false, template: input, warnings: [warning] });
  });

  test('genai-sidecar.io/inject: "true" injects', () => {
    expect(inject(template({ annotations: { 'genai-sidecar.io/inject': 'true' } })).changed).toBe(true);
  });

  test('an unknown genai-sidecar.io annotation is reported, not fatal', () => {
    const result = inject(template({ annotations: { 'genai-sidecar.io/upstream': 'openai=https://api.openai.com' } }));
    expect(result.changed).toBe(true);
    expect(result.warnings).toEqual(['ignored unknown annotation genai-sidecar.io/upstream']);
  });
});

describe('annotations', () => {
  test('override the flags for one pod', () => {
    const result = inject(
      template({
        annotations: {
          'genai-sidecar.io/upstreams': 'anthropic=https://api.anthropic.com',
          'genai-sidecar.io/header-attributes': 'x-team=team',
          'genai-sidecar.io/cpu-request': '10m',
          'genai-sidecar.io/cpu-limit': '2',
          'genai-sidecar.io/memory-request': '32Mi',
          'genai-sidecar.io/memory-limit': '1Gi',
          'genai-sidecar.io/image': 'mirror.example.com/genai-sidecar:pinned',
        },
      }),
      { upstreams: ['openai=https://api.openai.com'], headerAttributes: ['x-tenant=tenant'] },
    );
    const sidecar = sidecarOf(result.template);
    expect(sidecar?.image).toBe('mirror.example.com/genai-sidecar:pinned');
    expect(sidecar?.resources).toEqual({ requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '2', memory: '1Gi' } });
    expect(envOf(sidecar).GENAI_SIDECAR_UPSTREAMS).toBe('anthropic=https://api.anthropic.com');
    expect(envOf(sidecar).GENAI_SIDECAR_HEADER_ATTRIBUTES).toBe('x-team=team');
    expect(containers(result.template)[0]?.env).toEqual([{ name: 'ANTHROPIC_BASE_URL', value: 'http://127.0.0.1:8787/anthropic' }]);
  });

  test.each([
    ['genai-sidecar.io/inject', 'no', 'annotation genai-sidecar.io/inject: "no" must be "true" or "false"'],
    ['genai-sidecar.io/inject', false, 'annotation genai-sidecar.io/inject: the value must be a string; quote it, e.g. "false"'],
    ['genai-sidecar.io/upstreams', 'openai=ftp://x', 'annotation genai-sidecar.io/upstreams "openai=ftp://x": only http and https upstreams are supported'],
    ['genai-sidecar.io/upstreams', 'mine=http://x', 'annotation genai-sidecar.io/upstreams "mine=http://x": route "mine" is not a known provider'],
    ['genai-sidecar.io/header-attributes', 'x-team=Team', 'annotation genai-sidecar.io/header-attributes: attribute "Team" must be lower-case'],
    ['genai-sidecar.io/header-attributes', 'bad header=team', 'annotation genai-sidecar.io/header-attributes: "bad header" is not a valid header name'],
    ['genai-sidecar.io/cpu-request', 'lots', 'annotation genai-sidecar.io/cpu-request: "lots" is not a Kubernetes quantity'],
    ['genai-sidecar.io/memory-request', '256Mi', 'annotation genai-sidecar.io/memory-request: "256Mi" is above the limit "192Mi" (set genai-sidecar.io/memory-limit too)'],
    ['genai-sidecar.io/image', 'two words', 'annotation genai-sidecar.io/image: "two words" is not an image reference'],
    ['genai-sidecar.io/metrics', 'scrape', 'annotation genai-sidecar.io/metrics: "scrape" must be one of push, pull, both'],
  ])('%s: %p is an InjectError', (key, value, message) => {
    const run = () => inject(template({ annotations: { [key]: value } }));
    expect(run).toThrow(InjectError);
    expect(run).toThrow(message);
  });
});

describe('workloads', () => {
  test.each([
    ['a bare pod', { name: 'notebook' }, { kind: 'Pod', name: 'notebook' }],
    ['a bare pod with only a generateName', { generateName: 'debug-' }, { kind: 'Pod', name: 'debug' }],
    [
      "a Deployment's pod (ReplicaSet <deployment>-<pod-template-hash>)",
      { labels: { 'pod-template-hash': '5d8f7c9b6' }, ownerReferences: [{ kind: 'ReplicaSet', name: 'chat-api-5d8f7c9b6', controller: true }] },
      { kind: 'Deployment', name: 'chat-api' },
    ],
    ["a bare ReplicaSet's pod", { ownerReferences: [{ kind: 'ReplicaSet', name: 'chat-api', controller: true }] }, { kind: 'ReplicaSet', name: 'chat-api' }],
    ['a StatefulSet pod', { ownerReferences: [{ kind: 'StatefulSet', name: 'indexer', controller: true }] }, { kind: 'StatefulSet', name: 'indexer' }],
    ["a CronJob's pod (Job <cronjob>-<minutes>)", { ownerReferences: [{ kind: 'Job', name: 'nightly-report-29123456', controller: true }] }, { kind: 'CronJob', name: 'nightly-report' }],
    ['a Job pod', { ownerReferences: [{ kind: 'Job', name: 'embed-catalog', controller: true }] }, { kind: 'Job', name: 'embed-catalog' }],
    [
      'the controller among several owners',
      { ownerReferences: [{ kind: 'Thing', name: 'other' }, { kind: 'DaemonSet', name: 'agent', controller: true }] },
      { kind: 'DaemonSet', name: 'agent' },
    ],
  ])('%s', (_name, metadata, workload) => {
    expect(workloadOfPod(metadata)).toEqual(workload);
  });

  test('pod templates are found by kind and API group, including inside a List', () => {
    const list = {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'nightly' } },
        { apiVersion: 'example.com/v1', kind: 'Deployment', metadata: { name: 'not-apps' } },
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc' } },
      ],
    };
    expect(podTemplateLocations(list)).toEqual([
      { path: ['items', 0, 'spec', 'jobTemplate', 'spec', 'template'], workload: { kind: 'CronJob', name: 'nightly' }, ref: 'CronJob/nightly' },
    ]);
  });
});
