/**
 * k8s/ as a user applies it. No cluster is needed: the real kubectl 1.34 (test/helpers/kubectl.ts)
 * renders every kustomize base and the top-level one, every rendered object must pass strict
 * schema validation (unknown fields rejected), every container must be hardened, and the pieces
 * must point at each other: ConfigMaps mounted where the configuration files expect them,
 * Services where URLs point, volumes where data is written.
 *
 * Each rule is a function that returns problems. The "catches" tables break a rendered copy on
 * purpose, one rule at a time, to prove that every rule can fail.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { k8sConfigBases } from '../../src/observability/k8sFiles';
import { injectManifests } from '../../src/inject/manifests';
import { DEFAULT_COLLECTOR_ENDPOINT, DEFAULT_IMAGE_REPOSITORY, defaultInjectOptions } from '../../src/inject/options';
import { loadKubernetesSchemas, validateKubernetesObject } from '../helpers/k8sSchema';
import { renderKustomization, type KubernetesObject } from '../helpers/kubectl';

const ROOT = path.resolve(__dirname, '../..');
const STACK_BASES = ['collector', 'prometheus', 'grafana', 'injector'];
const ALL_BASES = [...STACK_BASES, 'example-app'];
const OBSERVABILITY_NAMESPACE = 'genai-observability';
// kubectl apply (client side) keeps the whole object in this annotation, capped at 256 KiB.
const LAST_APPLIED_LIMIT = 262144;
const PACKAGE_VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

type Objects = KubernetesObject[];
type Workload = IDeployment | IStatefulSet;

const rendered = new Map<string, Objects>();

beforeAll(async () => {
  await loadKubernetesSchemas();
  for (const base of ['', ...ALL_BASES]) rendered.set(base, renderKustomization(path.join(ROOT, 'k8s', base)));
});

function stack(): Objects {
  return structuredClone(rendered.get('') as Objects);
}

function everything(): Objects {
  return [...stack(), ...structuredClone(rendered.get('example-app') as Objects)];
}

describe('kubectl kustomize', () => {
  test.each(['', ...ALL_BASES])('k8s/%s renders, and every object passes strict schema validation', (base) => {
    const objects = rendered.get(base) as Objects;
    expect(objects.length).toBeGreaterThan(0);
    expect(objects.flatMap(validateKubernetesObject)).toEqual([]);
  });

  test('k8s/ is exactly the collector, prometheus, grafana and injector bases, without the example app', () => {
    const ids = (objects: Objects): string[] => objects.map(id).sort();
    expect(ids(stack())).toEqual(STACK_BASES.flatMap((base) => ids(rendered.get(base) as Objects)).sort());
  });
});

describe('rules hold for the rendered manifests', () => {
  test('every container runs hardened', () => expect(hardeningProblems(everything())).toEqual([]));
  test('the collector is wired to its config, its volumes and its Service', () => expect(collectorProblems(stack())).toEqual([]));
  test('Prometheus receives remote writes, loads the rules and keeps data on a volume', () => expect(prometheusProblems(stack())).toEqual([]));
  test('Grafana mounts what its provisioning files name and queries the in-cluster Prometheus', () => expect(grafanaProblems(stack())).toEqual([]));
  test('the injector runs highly available, without RBAC, as `genai-sidecar webhook`', () => expect(injectorProblems(stack())).toEqual([]));
  test('every ConfigMap fits client-side `kubectl apply`', () => expect(sizeProblems(stack())).toEqual([]));
  test('the image is ghcr.io/genai-sidecar/genai-sidecar at the package version, as the injector defaults to', () => {
    expect(imageProblems(stack())).toEqual([]);
  });
});

test('the example app, once injected, is still valid and still meets the restricted profile its namespace enforces', () => {
  const example = rendered.get('example-app') as Objects;
  const injected = parseAllDocuments(injectManifests(example.map((o) => stringify(o)).join('---\n'), defaultInjectOptions(PACKAGE_VERSION)).text).map(
    (document) => document.toJS() as KubernetesObject,
  );
  const pod = podSpec(workload(injected, 'chat-demo'));
  expect([...(pod.initContainers ?? []), ...pod.containers].map((c) => c.image)).toContain(`${DEFAULT_IMAGE_REPOSITORY}:${PACKAGE_VERSION}`);
  expect(injected.flatMap(validateKubernetesObject)).toEqual([]);
  expect(hardeningProblems(injected)).toEqual([]);
});

type Mutation = (objects: Objects) => void;
const CATCHES: [string, (objects: Objects) => string[], Mutation, string][] = [
  ['root filesystem writable', hardeningProblems, (o) => (container(o, 'grafana').securityContext!.readOnlyRootFilesystem = false), 'readOnlyRootFilesystem'],
  ['capabilities kept', hardeningProblems, (o) => delete container(o, 'webhook').securityContext?.capabilities, 'drop ALL'],
  ['may run as root', hardeningProblems, (o) => delete podSpec(workload(o, 'prometheus')).securityContext?.runAsNonRoot, 'runAsNonRoot'],
  ['privilege escalation', hardeningProblems, (o) => delete container(o, 'otel-collector').securityContext?.allowPrivilegeEscalation, 'allowPrivilegeEscalation'],
  ['no seccomp profile', hardeningProblems, (o) => delete podSpec(workload(o, 'grafana')).securityContext?.seccompProfile, 'seccomp'],
  ['no memory limit', hardeningProblems, (o) => delete container(o, 'prometheus').resources?.limits, 'limits'],
  ['unpinned image', hardeningProblems, (o) => (container(o, 'grafana').image = 'grafana/grafana:latest'), 'pinned'],
  ['service account token', hardeningProblems, (o) => (podSpec(workload(o, 'otel-collector')).automountServiceAccountToken = true), 'automountServiceAccountToken'],
  ['collector config path', collectorProblems, (o) => (container(o, 'otel-collector').args = ['--config=/etc/otel/config.yaml']), '--config'],
  ['collector WAL not on a volume', collectorProblems, (o) => (mount(o, 'otel-collector', 'wal').mountPath = '/data'), 'WAL'],
  ['collector health port', collectorProblems, (o) => (container(o, 'otel-collector').livenessProbe = { httpGet: { path: '/', port: 8888 } }), 'livenessProbe'],
  ['collector Service port', collectorProblems, (o) => (service(o, 'otel-collector').spec!.ports = service(o, 'otel-collector').spec!.ports?.filter((p) => p.port !== 4318)), '4318'],
  ['remote-write receiver off', prometheusProblems, (o) => removeArg(container(o, 'prometheus'), '--web.enable-remote-write-receiver'), 'remote-write-receiver'],
  ['rules not mounted', prometheusProblems, (o) => (mount(o, 'prometheus', 'rules').mountPath = '/rules'), 'rules'],
  ['TSDB not on the claim', prometheusProblems, (o) => (mount(o, 'prometheus', 'data').mountPath = '/data'), 'storage.tsdb.path'],
  ['Prometheus Service renamed', prometheusProblems, (o) => (service(o, 'prometheus').metadata!.name = 'prom'), 'prometheus:9090'],
  ['dashboards not at the provider path', grafanaProblems, (o) => (mount(o, 'grafana', 'dashboards').mountPath = '/dashboards'), 'provider path'],
  ['a provisioning folder not mounted', grafanaProblems, (o) => (mount(o, 'grafana', 'provisioning-datasources').mountPath = '/etc/ds'), 'provisioning/datasources'],
  ['one injector replica', injectorProblems, (o) => (workload(o, 'genai-sidecar-injector').spec!.replicas = 1), 'replicas'],
  ['no PodDisruptionBudget', injectorProblems, (o) => o.splice(o.findIndex((x) => x.kind === 'PodDisruptionBudget'), 1), 'PodDisruptionBudget'],
  ['no anti-affinity', injectorProblems, (o) => delete podSpec(workload(o, 'genai-sidecar-injector')).affinity, 'anti-affinity'],
  ['webhook flags', injectorProblems, (o) => (container(o, 'webhook').args = ['webhook']), 'args'],
  ['a RoleBinding', injectorProblems, (o) => o.push(roleBinding()), 'RBAC'],
  ['a huge ConfigMap', sizeProblems, (o) => (ofKind<IConfigMap>(o, 'ConfigMap')[0]!.data = { big: 'x'.repeat(LAST_APPLIED_LIMIT) }), 'server-side'],
  ['another image', imageProblems, (o) => (container(o, 'webhook').image = `${DEFAULT_IMAGE_REPOSITORY}:9.9.9`), PACKAGE_VERSION],
];

test.each(CATCHES)('catches: %s', (_name, rule, mutate, expected) => {
  const objects = stack();
  expect(rule(objects)).toEqual([]);
  mutate(objects);
  expect(rule(objects).join('\n')).toContain(expected);
});

// ---------------------------------------------------------------------------------------------
// Rules

function hardeningProblems(objects: Objects): string[] {
  return workloads(objects).flatMap((w) => {
    const pod = podSpec(w);
    const where = id(w);
    const problems: string[] = [];
    if (pod.automountServiceAccountToken !== false) problems.push(`${where}: automountServiceAccountToken must be false (nothing here calls the API)`);
    if (pod.hostNetwork || pod.hostPID || pod.hostIPC) problems.push(`${where}: shares a host namespace`);
    for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
      const at = `${where} container ${c.name}`;
      const sc = c.securityContext ?? {};
      if ((sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot) !== true) problems.push(`${at}: runAsNonRoot must be true`);
      if ((sc.runAsUser ?? pod.securityContext?.runAsUser) === 0) problems.push(`${at}: runs as uid 0`);
      if (sc.allowPrivilegeEscalation !== false) problems.push(`${at}: allowPrivilegeEscalation must be false`);
      if (sc.readOnlyRootFilesystem !== true) problems.push(`${at}: readOnlyRootFilesystem must be true`);
      if (!sc.capabilities?.drop?.includes('ALL')) problems.push(`${at}: capabilities must drop ALL`);
      if ((sc.seccompProfile ?? pod.securityContext?.seccompProfile)?.type !== 'RuntimeDefault') problems.push(`${at}: seccomp profile must be RuntimeDefault`);
      for (const kind of ['requests', 'limits'] as const) {
        for (const resource of ['cpu', 'memory']) {
          if (c.resources?.[kind]?.[resource] === undefined) problems.push(`${at}: resources.${kind}.${resource} missing`);
        }
      }
      const image = c.image ?? '';
      if (!/:[\w.-]+$|@sha256:/.test(image) || image.endsWith(':latest')) problems.push(`${at}: image ${image} is not pinned to a version`);
    }
    return problems;
  });
}

function collectorProblems(objects: Objects): string[] {
  const problems: string[] = [];
  const deployment = workload(objects, 'otel-collector');
  const pod = podSpec(deployment);
  const c = container(objects, 'otel-collector');
  const configArg = c.args?.find((arg) => arg.startsWith('--config='));
  const configFile = configArg?.slice('--config='.length) ?? '';
  if (configFile !== '/conf/collector-config.yaml') problems.push(`collector: args must include --config=/conf/collector-config.yaml, got ${String(configArg)}`);
  const configText = configMapFile(objects, pod, c, configFile);
  if (configText === undefined) return [...problems, `collector: no ConfigMap mounted provides ${configFile}`];
  const config = parse(configText) as CollectorConfig;

  for (const port of [4317, 4318, 8888, 13133]) {
    if (!c.ports?.some((p) => p.containerPort === port)) problems.push(`collector: container port ${port} not declared`);
  }
  const healthPort = Number(config.extensions?.health_check?.endpoint?.split(':').pop());
  for (const probe of ['livenessProbe', 'readinessProbe'] as const) {
    const port = c[probe]?.httpGet?.port;
    if (port === undefined || containerPort(c, port) !== healthPort) problems.push(`collector: ${probe} must hit the health_check extension on ${healthPort}`);
  }
  const wal = config.exporters?.prometheusremotewrite?.wal?.directory;
  if (!wal || !writableVolumeAt(pod, c, wal)) problems.push(`collector: the prometheusremotewrite WAL directory ${String(wal)} is not on a writable volume`);

  const svc = service(objects, 'otel-collector');
  for (const port of [4317, 4318, 8888]) {
    const exposed = svc.spec?.ports?.find((p) => p.port === port);
    if (!exposed || containerPort(c, exposed.targetPort ?? port) !== port) problems.push(`collector: Service otel-collector must expose ${port}`);
  }
  problems.push(...urlProblems(objects, DEFAULT_COLLECTOR_ENDPOINT, 'the injected sidecars\' OTLP endpoint', OBSERVABILITY_NAMESPACE, 'otel-collector'));
  return problems;
}

function prometheusProblems(objects: Objects): string[] {
  const problems: string[] = [];
  const statefulSet = workload(objects, 'prometheus') as IStatefulSet;
  const pod = podSpec(statefulSet);
  const c = container(objects, 'prometheus');
  const args = c.args ?? [];
  if (!args.includes('--web.enable-remote-write-receiver')) problems.push('prometheus: --web.enable-remote-write-receiver missing');

  const configFile = flag(args, '--config.file') ?? '';
  const configText = configMapFile(objects, pod, c, configFile);
  if (configText === undefined) return [...problems, `prometheus: no ConfigMap mounted provides --config.file ${configFile}`];
  const config = parse(configText) as PrometheusConfig;
  for (const ruleFile of config.rule_files ?? []) {
    const file = path.posix.resolve(path.posix.dirname(configFile), ruleFile);
    if (configMapFile(objects, pod, c, file) === undefined) problems.push(`prometheus: rules file ${file} (rule_files: ${ruleFile}) is not mounted`);
  }
  const tsdb = flag(args, '--storage.tsdb.path') ?? '';
  const claims = (statefulSet.spec?.volumeClaimTemplates ?? []).map((claim) => claim.metadata?.name);
  const tsdbMount = mountAt(c, tsdb);
  if (!tsdbMount || !claims.includes(tsdbMount.name)) problems.push(`prometheus: --storage.tsdb.path ${tsdb} is not on a PersistentVolumeClaim`);

  for (const scrape of config.scrape_configs ?? []) {
    for (const target of (scrape.static_configs ?? []).flatMap((s) => s.targets ?? [])) {
      problems.push(...urlProblems(objects, `http://${target}`, `scrape job ${scrape.job_name}`, OBSERVABILITY_NAMESPACE));
    }
  }
  const collectorPod = podSpec(workload(objects, 'otel-collector'));
  const collectorConfig = configMapFile(objects, collectorPod, container(objects, 'otel-collector'), '/conf/collector-config.yaml');
  const remoteWrite = (parse(collectorConfig ?? '{}') as CollectorConfig).exporters?.prometheusremotewrite?.endpoint ?? '';
  problems.push(...urlProblems(objects, remoteWrite, 'the collector\'s remote write', OBSERVABILITY_NAMESPACE, 'prometheus'));
  return problems;
}

function grafanaProblems(objects: Objects): string[] {
  const problems: string[] = [];
  const pod = podSpec(workload(objects, 'grafana'));
  const c = container(objects, 'grafana');
  const grafanaBase = k8sConfigBases(ROOT).find((base) => base.base === 'k8s/grafana');
  for (const source of grafanaBase?.configMaps ?? []) {
    if (!source.sourceDir.startsWith('grafana/provisioning/')) continue;
    const folder = `/etc/grafana/provisioning/${path.posix.basename(source.sourceDir)}`;
    for (const file of source.files) {
      const text = configMapFile(objects, pod, c, `${folder}/${path.posix.basename(file)}`);
      if (text === undefined) {
        problems.push(`grafana: ${file} is not mounted in ${folder}`);
        continue;
      }
      const provisioning = parse(text) as GrafanaProvisioning;
      for (const provider of provisioning.providers ?? []) {
        const dir = provider.options?.path ?? '';
        const dashboards = mountedConfigMap(objects, pod, mountAt(c, dir));
        if (!dashboards || mountAt(c, dir)?.mountPath !== dir) problems.push(`grafana: nothing mounted at the dashboards provider path ${dir}`);
        else if (!Object.keys(dashboards.data ?? {}).some((key) => key.endsWith('.json'))) problems.push(`grafana: the ConfigMap at the provider path ${dir} holds no dashboard`);
      }
      for (const datasource of provisioning.datasources ?? []) {
        if (datasource.url) problems.push(...urlProblems(objects, datasource.url, `datasource ${datasource.name}`, OBSERVABILITY_NAMESPACE, 'prometheus'));
      }
    }
  }
  return problems;
}

function injectorProblems(objects: Objects): string[] {
  const problems: string[] = [];
  const deployment = workload(objects, 'genai-sidecar-injector') as IDeployment;
  const pod = podSpec(deployment);
  const podLabels = deployment.spec?.template.metadata?.labels ?? {};
  if (deployment.spec?.replicas !== 2) problems.push(`injector: replicas must be 2, got ${String(deployment.spec?.replicas)}`);
  const budgets = ofKind<IPodDisruptionBudget>(objects, 'PodDisruptionBudget').filter(
    (pdb) => pdb.metadata?.namespace === deployment.metadata?.namespace && selects(pdb.spec?.selector?.matchLabels, podLabels),
  );
  if (budgets.length !== 1 || budgets[0]?.spec?.minAvailable !== 1) problems.push('injector: needs one PodDisruptionBudget with minAvailable 1 selecting its pods');
  const antiAffinity = pod.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
  const spreads = antiAffinity.some(({ podAffinityTerm: term }) => term.topologyKey === 'kubernetes.io/hostname' && selects(term.labelSelector?.matchLabels, podLabels));
  if (!spreads) problems.push('injector: needs pod anti-affinity across nodes (kubernetes.io/hostname) on its own pods');
  const c = container(objects, 'webhook');
  const expected = ['webhook', '--listen', '0.0.0.0:8443', '--tls-cert', '/tls/tls.crt', '--tls-key', '/tls/tls.key'];
  if (c.command !== undefined || JSON.stringify(c.args) !== JSON.stringify(expected)) {
    problems.push(`injector: args must be ${expected.join(' ')} (the image's entrypoint is genai-sidecar)`);
  }
  const tls = mountAt(c, '/tls/tls.crt');
  if (!tls || !pod.volumes?.some((v) => v.name === tls.name && v.secret?.secretName)) problems.push('injector: /tls must be a Secret volume');
  const account = pod.serviceAccountName ?? 'default';
  if (!objects.some((o) => o.kind === 'ServiceAccount' && o.metadata.name === account)) problems.push(`injector: ServiceAccount ${account} is not in the manifests`);
  const bindings = objects.filter((o) => /RoleBinding$/.test(o.kind) && JSON.stringify(o).includes(`"${account}"`));
  if (bindings.length > 0) problems.push(`injector: needs no RBAC, but ${bindings.map(id).join(', ')} grant its ServiceAccount permissions`);
  return problems;
}

function sizeProblems(objects: Objects): string[] {
  return ofKind<IConfigMap>(objects, 'ConfigMap')
    .filter((cm) => JSON.stringify(cm).length >= LAST_APPLIED_LIMIT)
    .map((cm) => `${id(cm)} is too large for client-side apply's last-applied annotation: split it or document kubectl apply --server-side`);
}

function imageProblems(objects: Objects): string[] {
  const expected = `${DEFAULT_IMAGE_REPOSITORY}:${PACKAGE_VERSION}`;
  return workloads(objects)
    .flatMap((w) => podSpec(w).containers.map((c) => c.image ?? ''))
    .filter((image) => image.startsWith(`${DEFAULT_IMAGE_REPOSITORY}:`) && image !== expected)
    .map((image) => `image ${image} must be ${expected}`);
}

// ---------------------------------------------------------------------------------------------
// Navigation

interface CollectorConfig {
  extensions?: { health_check?: { endpoint?: string } };
  exporters?: { prometheusremotewrite?: { endpoint?: string; wal?: { directory?: string } } };
}
interface PrometheusConfig {
  rule_files?: string[];
  scrape_configs?: { job_name: string; static_configs?: { targets?: string[] }[] }[];
}
interface GrafanaProvisioning {
  providers?: { options?: { path?: string } }[];
  datasources?: { name?: string; url?: string }[];
}
type VolumeMount = NonNullable<IContainer['volumeMounts']>[number];

function id(object: { kind: string; metadata?: { name?: string; namespace?: string } }): string {
  return `${object.kind} ${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

function ofKind<T>(objects: Objects, kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as unknown as T[];
}

function workloads(objects: Objects): Workload[] {
  return objects.filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind)) as unknown as Workload[];
}

function workload(objects: Objects, name: string): Workload {
  const found = workloads(objects).find((w) => w.metadata?.name === name);
  if (!found) throw new Error(`no workload ${name}`);
  return found;
}

function podSpec(w: Workload): IPodSpec {
  const spec = w.spec?.template.spec;
  if (!spec) throw new Error(`${w.metadata?.name ?? ''} has no pod spec`);
  return spec;
}

/** The container named `name` in any workload. */
function container(objects: Objects, name: string): IContainer {
  const found = workloads(objects).flatMap((w) => podSpec(w).containers).find((c) => c.name === name);
  if (!found) throw new Error(`no container ${name}`);
  return found;
}

function mount(objects: Objects, containerName: string, volume: string): VolumeMount {
  const found = container(objects, containerName).volumeMounts?.find((m) => m.name === volume);
  if (!found) throw new Error(`container ${containerName} mounts no ${volume}`);
  return found;
}

function service(objects: Objects, name: string): IService {
  const found = ofKind<IService>(objects, 'Service').find((s) => s.metadata?.name === name);
  if (!found) throw new Error(`no Service ${name}`);
  return found;
}

/** The mount a path lives under (the deepest mountPath that contains it). */
function mountAt(c: IContainer, file: string): VolumeMount | undefined {
  return (c.volumeMounts ?? [])
    .filter((m) => file === m.mountPath || file.startsWith(`${m.mountPath.replace(/\/$/, '')}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
}

function mountedConfigMap(objects: Objects, pod: IPodSpec, m: VolumeMount | undefined): IConfigMap | undefined {
  const name = pod.volumes?.find((v) => v.name === m?.name)?.configMap?.name;
  return ofKind<IConfigMap>(objects, 'ConfigMap').find((cm) => cm.metadata?.name === name);
}

/** Content of `file` as the container sees it, when a ConfigMap volume provides it. */
function configMapFile(objects: Objects, pod: IPodSpec, c: IContainer, file: string): string | undefined {
  const m = mountAt(c, file);
  if (!m || path.posix.dirname(file) !== m.mountPath.replace(/\/$/, '')) return undefined;
  return mountedConfigMap(objects, pod, m)?.data?.[path.posix.basename(file)];
}

function writableVolumeAt(pod: IPodSpec, c: IContainer, dir: string): boolean {
  const m = mountAt(c, dir);
  const volume = pod.volumes?.find((v) => v.name === m?.name);
  return m !== undefined && m.readOnly !== true && (volume?.emptyDir !== undefined || volume?.persistentVolumeClaim !== undefined);
}

function containerPort(c: IContainer, port: number | string): number | undefined {
  return typeof port === 'number' ? port : c.ports?.find((p) => p.name === port)?.containerPort;
}

function flag(args: string[], name: string): string | undefined {
  return args.find((arg) => arg.startsWith(`${name}=`))?.slice(name.length + 1);
}

function selects(matchLabels: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  return matchLabels !== undefined && Object.entries(matchLabels).every(([key, value]) => labels[key] === value);
}

/**
 * A URL used from `namespace` must reach a Service of the manifests (short, namespaced or fully
 * qualified name) on a port it exposes, and that Service must select a pod whose container
 * listens there.
 */
function urlProblems(objects: Objects, url: string, what: string, namespace: string, expectedService?: string): string[] {
  const parsed = new URL(url);
  const [name, ns = namespace] = parsed.hostname.split('.');
  const port = Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
  const where = `${what} (${parsed.host})`;
  const svc = ofKind<IService>(objects, 'Service').find((s) => s.metadata?.name === name && s.metadata.namespace === ns);
  if (!svc) return [`${where}: no Service ${String(name)} in namespace ${ns}`];
  if (expectedService && name !== expectedService) return [`${where}: must point at Service ${expectedService}`];
  const exposed = svc.spec?.ports?.find((p) => p.port === port);
  if (!exposed) return [`${where}: Service ${String(name)} does not expose port ${port}`];
  const backends = workloads(objects).filter((w) => w.metadata?.namespace === ns && selects(svc.spec?.selector, w.spec?.template.metadata?.labels ?? {}));
  const listens = (c: IContainer): boolean => c.ports?.some((p) => p.containerPort === containerPort(c, exposed.targetPort ?? port)) ?? false;
  const listening = backends.some((w) => podSpec(w).containers.some(listens));
  return listening ? [] : [`${where}: no pod behind Service ${String(name)} listens on its target port`];
}

function removeArg(c: IContainer, arg: string): void {
  c.args = c.args?.filter((each) => each !== arg);
}

function roleBinding(): KubernetesObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'extra', namespace: 'genai-sidecar-system' },
    subjects: [{ kind: 'ServiceAccount', name: 'genai-sidecar-injector' }],
  } as KubernetesObject;
}
