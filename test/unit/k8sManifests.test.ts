/**
 * k8s/ as a user applies it. No cluster is needed: the real kubectl 1.34 (test/helpers/kubectl.ts)
 * renders every kustomize base and the top-level one, every rendered object must pass strict
 * schema validation (unknown fields rejected), every container must be hardened, and the pieces
 * must point at each other: ConfigMaps mounted where the configuration files expect them,
 * Services where URLs point, volumes where data is written. The collector runs in two tiers of
 * the project's own image (collector/Dockerfile): routers behind the Service the sidecars export
 * to, which send each sidecar's data to one writer found through a headless Service, and writers
 * that remote-write to Prometheus, which discovers every collector pod through another.
 *
 * Each rule is a function that returns problems. The "catches" tables break a rendered copy on
 * purpose, one rule at a time, to prove that every rule can fail.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { k8sConfigBases } from '../../src/observability/k8sFiles';
import { injectManifests } from '../../src/inject/manifests';
import { DEFAULT_COLLECTOR_ENDPOINT, DEFAULT_IMAGE_REPOSITORY, defaultInjectOptions } from '../../src/inject/options';
import { COLLECTOR_JOB } from '../../src/telemetry/collectorNames';
import { SCRAPE_LABEL } from '../../src/inject/annotations';
import { ADMIN_PORT_NAME } from '../../src/inject/sidecarContainer';
import { loadKubernetesSchemas, validateKubernetesObject } from '../helpers/k8sSchema';
import { renderKustomization, type KubernetesObject } from '../helpers/kubectl';
import {
  collectorEnv,
  configMapFile,
  container,
  containerPort,
  editConfigMapFile,
  flag,
  hardeningProblems,
  id,
  mount,
  mountAt,
  mountedConfigMap,
  ofKind,
  podSpec,
  removeArg,
  selects,
  service,
  urlProblems,
  workload,
  workloads,
  type Objects,
} from '../helpers/k8sRules';

const ROOT = path.resolve(__dirname, '../..');
const STACK_BASES = ['collector', 'prometheus', 'grafana', 'injector'];
const ALL_BASES = [...STACK_BASES, 'example-app'];
const OBSERVABILITY_NAMESPACE = 'genai-observability';
// kubectl apply (client side) keeps the whole object in this annotation, capped at 256 KiB.
const LAST_APPLIED_LIMIT = 262144;
const PACKAGE_VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const COLLECTOR_DIST = (parse(readFileSync(path.join(ROOT, 'collector/builder-config.yaml'), 'utf8')) as { dist: { name: string; version: string } }).dist;
/** The image collector/Dockerfile builds (its header's `docker build -t`, checked in collectorDockerfile.test.ts). */
const COLLECTOR_IMAGE = `ghcr.io/genai-sidecar/${COLLECTOR_DIST.name}:${COLLECTOR_DIST.version}`;
/** The uid collector/Dockerfile's runtime stage runs as. */
const COLLECTOR_UID = Number(/^USER\s+(\d+)/m.exec(readFileSync(path.join(ROOT, 'collector/Dockerfile'), 'utf8'))?.[1]);
const NAME_LABEL = 'app.kubernetes.io/name';
const COMPONENT_LABEL = 'app.kubernetes.io/component';

/** The collector's two tiers: workload, pod labels, and the file of the shared ConfigMap each runs. */
interface Tier {
  workload: string;
  kind: 'Deployment' | 'StatefulSet';
  component: 'router' | 'writer';
  configFile: string;
}
const ROUTER: Tier = { workload: 'otel-collector', kind: 'Deployment', component: 'router', configFile: '/conf/router-config.yaml' };
const WRITER: Tier = { workload: 'otel-collector-writer', kind: 'StatefulSet', component: 'writer', configFile: '/conf/collector-config.yaml' };

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
  test('each collector tier runs otelcol-genai on its own file of the shared ConfigMap, statelessly', () => expect(collectorProblems(stack())).toEqual([]));
  test("the sidecars' Service reaches only routers, which reach the writers through a headless Service", () => expect(routingProblems(stack())).toEqual([]));
  test('a headless Service covers every collector pod of both tiers for Prometheus', () => expect(collectorMetricsProblems(stack())).toEqual([]));
  test('Prometheus receives remote writes, loads the rules and keeps data on a volume', () => expect(prometheusProblems(stack())).toEqual([]));
  test('Grafana mounts what its provisioning files name and queries the in-cluster Prometheus', () => expect(grafanaProblems(stack())).toEqual([]));
  test('the injector runs highly available, without RBAC, as `genai-sidecar webhook`', () => expect(injectorProblems(stack())).toEqual([]));
  test('Prometheus may get, list and watch pods and nothing else', () => expect(prometheusRbacProblems(stack())).toEqual([]));
  test("Prometheus loads the pull-mode sidecars' job, which keeps only labelled pods' admin port and adds no label but instance", () =>
    expect(pullScrapeProblems(stack())).toEqual([]));
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
  ['privilege escalation', hardeningProblems, (o) => delete container(o, 'router').securityContext?.allowPrivilegeEscalation, 'allowPrivilegeEscalation'],
  ['no seccomp profile', hardeningProblems, (o) => delete podSpec(workload(o, 'grafana')).securityContext?.seccompProfile, 'seccomp'],
  ['no memory limit', hardeningProblems, (o) => delete container(o, 'prometheus').resources?.limits, 'limits'],
  ['unpinned image', hardeningProblems, (o) => (container(o, 'grafana').image = 'grafana/grafana:latest'), 'pinned'],
  ['service account token', hardeningProblems, (o) => (podSpec(workload(o, 'otel-collector')).automountServiceAccountToken = true), 'automountServiceAccountToken'],
  ['collector config path', collectorProblems, (o) => (container(o, 'router').args = ['--config=/etc/otel/config.yaml']), '--config'],
  ['routers run the writer config', collectorProblems, (o) => (container(o, 'router').args = ['--config=/conf/collector-config.yaml']), 'router-config.yaml'],
  ['writers run the router config', collectorProblems, (o) => (container(o, 'writer').args = ['--config=/conf/router-config.yaml']), 'collector-config.yaml'],
  ['collector health port', collectorProblems, (o) => (container(o, 'router').livenessProbe = { httpGet: { path: '/', port: 8888 } }), 'livenessProbe'],
  ['a collector port not declared', collectorProblems, (o) => (container(o, 'writer').ports = container(o, 'writer').ports?.filter((p) => p.containerPort !== 4317)), '4317'],
  ['one router', collectorProblems, (o) => (workload(o, 'otel-collector').spec!.replicas = 1), 'replicas'],
  ['one writer', collectorProblems, (o) => (workload(o, 'otel-collector-writer').spec!.replicas = 1), 'replicas'],
  ['a tier without its component label', collectorProblems, (o) => delete workload(o, 'otel-collector-writer').spec!.template.metadata!.labels![COMPONENT_LABEL], 'component'],
  ['a collector volume besides the config', collectorProblems, (o) => addScratchVolume(o, 'writer', '/var/lib/otelcol'), 'emptyDir'],
  ['another collector image', collectorProblems, (o) => (container(o, 'writer').image = 'otel/opentelemetry-collector-contrib:0.136.0'), COLLECTOR_IMAGE],
  ["a uid that is not the image's", collectorProblems, (o) => (podSpec(workload(o, 'otel-collector')).securityContext!.runAsUser = 10001), 'runAsUser'],
  ['no GOMEMLIMIT', collectorProblems, (o) => delete container(o, 'writer').env, 'GOMEMLIMIT'],
  ['GOMEMLIMIT above the memory limit', collectorProblems, (o) => (container(o, 'router').env = [{ name: 'GOMEMLIMIT', value: '2GiB' }]), 'GOMEMLIMIT'],
  ['writers started one by one', collectorProblems, (o) => ((workload(o, 'otel-collector-writer') as IStatefulSet).spec!.podManagementPolicy = 'OrderedReady'), 'Parallel'],
  ['collector Service port', routingProblems, (o) => (service(o, 'otel-collector').spec!.ports = service(o, 'otel-collector').spec!.ports?.filter((p) => p.port !== 4318)), '4318'],
  ['sidecars reach the writers directly', routingProblems, (o) => delete service(o, 'otel-collector').spec!.selector![COMPONENT_LABEL], 'writer'],
  ['routing on something else than the resource', routingProblems, (o) => editConfigMapFile<CollectorConfig>(o, 'router-config.yaml', (c) => (c.exporters!.load_balancing!.routing_key = 'streamID')), 'routing_key'],
  ['writer Service with a cluster IP', routingProblems, (o) => delete service(o, 'otel-collector-writer').spec!.clusterIP, 'headless'],
  ['writer Service selects the routers', routingProblems, (o) => (service(o, 'otel-collector-writer').spec!.selector![COMPONENT_LABEL] = 'router'), 'router'],
  ['writer Service on another port', routingProblems, (o) => (service(o, 'otel-collector-writer').spec!.ports![0]!.port = 4318), '4317'],
  ['resolver hostname without its Service', routingProblems, (o) => (service(o, 'otel-collector-writer').metadata!.name = 'otel-collector-writers'), 'otel-collector-writer'],
  ['resolver in another namespace', routingProblems, (o) => editConfigMapFile<CollectorConfig>(o, 'router-config.yaml', (c) => (c.exporters!.load_balancing!.resolver!.dns!.hostname = 'otel-collector-writer.observability.svc.cluster.local')), 'namespace observability'],
  ['StatefulSet governed by another Service', routingProblems, (o) => ((workload(o, 'otel-collector-writer') as IStatefulSet).spec!.serviceName = 'otel-collector'), 'serviceName'],
  ['metrics Service misses the writers', collectorMetricsProblems, (o) => (service(o, 'otel-collector-metrics').spec!.selector![COMPONENT_LABEL] = 'router'), 'otel-collector-writer'],
  ['metrics Service with a cluster IP', collectorMetricsProblems, (o) => delete service(o, 'otel-collector-metrics').spec!.clusterIP, 'headless'],
  ['metrics Service on another port', collectorMetricsProblems, (o) => (service(o, 'otel-collector-metrics').spec!.ports![0]!.targetPort = 'health'), '8888'],
  ['remote-write receiver off', prometheusProblems, (o) => removeArg(container(o, 'prometheus'), '--web.enable-remote-write-receiver'), 'remote-write-receiver'],
  ['native histograms off', prometheusProblems, (o) => removeArg(container(o, 'prometheus'), '--enable-feature=native-histograms'), 'native-histograms'],
  ['rules not mounted', prometheusProblems, (o) => (mount(o, 'prometheus', 'rules').mountPath = '/rules'), 'rules'],
  ['TSDB not on the claim', prometheusProblems, (o) => (mount(o, 'prometheus', 'data').mountPath = '/data'), 'storage.tsdb.path'],
  ['Prometheus Service renamed', prometheusProblems, (o) => (service(o, 'prometheus').metadata!.name = 'prom'), 'prometheus:9090'],
  ['collectors scraped through one Service', prometheusProblems, (o) => scrapeCollectorsAt(o, { static_configs: [{ targets: ['otel-collector:8888'] }] }), 'every collector pod'],
  ['collectors discovered by a name without a Service', prometheusProblems, (o) => scrapeCollectorsAt(o, { dns_sd_configs: [{ names: ['otel-collectors'], type: 'A', port: 8888 }] }), 'no Service otel-collectors'],
  ['collectors discovered through a Service with one address', prometheusProblems, (o) => scrapeCollectorsAt(o, { dns_sd_configs: [{ names: ['otel-collector'], type: 'A', port: 8888 }] }), 'headless'],
  ['dashboards not at the provider path', grafanaProblems, (o) => (mount(o, 'grafana', 'dashboards').mountPath = '/dashboards'), 'provider path'],
  ['a provisioning folder not mounted', grafanaProblems, (o) => (mount(o, 'grafana', 'provisioning-datasources').mountPath = '/etc/ds'), 'provisioning/datasources'],
  ['one injector replica', injectorProblems, (o) => (workload(o, 'genai-sidecar-injector').spec!.replicas = 1), 'replicas'],
  ['no PodDisruptionBudget', injectorProblems, (o) => o.splice(o.findIndex((x) => x.kind === 'PodDisruptionBudget'), 1), 'PodDisruptionBudget'],
  ['no anti-affinity', injectorProblems, (o) => delete podSpec(workload(o, 'genai-sidecar-injector')).affinity, 'anti-affinity'],
  ['webhook flags', injectorProblems, (o) => (container(o, 'webhook').args = ['webhook']), 'args'],
  ['a RoleBinding', injectorProblems, (o) => o.push(roleBinding()), 'RBAC'],
  ['Prometheus may read secrets', prometheusRbacProblems, (o) => roleOf(o, 'genai-sidecar-prometheus').rules![0]!.resources!.push('secrets'), 'pods only'],
  ['Prometheus may delete pods', prometheusRbacProblems, (o) => roleOf(o, 'genai-sidecar-prometheus').rules![0]!.verbs!.push('delete'), 'pods only'],
  ['Prometheus as the default ServiceAccount', prometheusRbacProblems, (o) => delete podSpec(workload(o, 'prometheus')).serviceAccountName, 'default ServiceAccount'],
  ['scrape files not mounted', pullScrapeProblems, (o) => (mount(o, 'prometheus', 'scrape').mountPath = '/etc/prometheus/jobs'), 'scrape_config_files'],
  ['sidecars found by another label', pullScrapeProblems, (o) => editConfigMapFile<PullScrapeFile>(o, 'sidecars.yml', (f) => (f.scrape_configs[0]!.kubernetes_sd_configs![0]!.selectors![0]!.label = 'app=chat')), SCRAPE_LABEL],
  ['every port of the pod scraped', pullScrapeProblems, (o) => editConfigMapFile<PullScrapeFile>(o, 'sidecars.yml', (f) => (f.scrape_configs[0]!.relabel_configs = f.scrape_configs[0]!.relabel_configs!.filter((r) => r.action !== 'keep'))), ADMIN_PORT_NAME],
  ['the sidecars scraped in text first', pullScrapeProblems, (o) => editConfigMapFile<PullScrapeFile>(o, 'sidecars.yml', (f) => (f.scrape_configs[0]!.scrape_protocols = ['OpenMetricsText1.0.0', 'PrometheusProto'])), 'PrometheusProto'],
  ['a namespace label added', pullScrapeProblems, (o) => editConfigMapFile<PullScrapeFile>(o, 'sidecars.yml', (f) => f.scrape_configs[0]!.relabel_configs!.push({ source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' })), 'namespace'],
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

function collectorProblems(objects: Objects): string[] {
  const problems = [ROUTER, WRITER].flatMap((tier) => tierProblems(objects, tier));
  // Writers share nothing with one another: start and replace them all at once.
  const writers = workload(objects, WRITER.workload) as IStatefulSet;
  if (writers.spec?.podManagementPolicy !== 'Parallel') problems.push(`collector: ${WRITER.workload} must have podManagementPolicy Parallel`);
  // Each tier is told apart by its own file: the routers load-balance, the writers remote-write.
  const routerConfig = tierConfig(objects, ROUTER);
  const writerConfig = tierConfig(objects, WRITER);
  if (routerConfig && !routerConfig.exporters?.load_balancing) problems.push(`collector: ${ROUTER.configFile} has no load_balancing exporter: the routers must run router-config.yaml`);
  if (writerConfig && !writerConfig.exporters?.prometheus_remote_write) problems.push(`collector: ${WRITER.configFile} has no prometheus_remote_write exporter: the writers must run collector-config.yaml`);
  return problems;
}

/** One tier: its workload, labels, replicas, image, user, config file, ports, probes, memory, volumes. */
function tierProblems(objects: Objects, tier: Tier): string[] {
  const at = `collector ${tier.component}s (${tier.kind} ${tier.workload})`;
  const w = workloads(objects).find((each) => each.metadata?.name === tier.workload);
  if (!w || w.kind !== tier.kind) return [`${at}: no ${tier.kind} ${tier.workload}`];
  const problems: string[] = [];
  const pod = podSpec(w);
  const labels = w.spec?.template.metadata?.labels ?? {};
  const wanted = { [NAME_LABEL]: 'otel-collector', [COMPONENT_LABEL]: tier.component };
  const matchLabels = w.spec?.selector.matchLabels ?? {};
  if (!selects(wanted, labels) || !selects(wanted, matchLabels) || !selects(matchLabels, wanted)) {
    problems.push(`${at}: pods and selector must carry ${NAME_LABEL}=otel-collector and ${COMPONENT_LABEL}=${tier.component}`);
  }
  if ((w.spec?.replicas ?? 1) < 2) problems.push(`${at}: needs at least 2 replicas, got ${String(w.spec?.replicas)}`);
  if (pod.containers.length !== 1) return [...problems, `${at}: expected one container`];
  const c = pod.containers[0] as IContainer;
  if (c.image !== COLLECTOR_IMAGE) problems.push(`${at}: image must be ${COLLECTOR_IMAGE} (collector/Dockerfile), got ${String(c.image)}`);
  const uid = c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
  if (uid !== COLLECTOR_UID) problems.push(`${at}: runAsUser must be ${COLLECTOR_UID}, the USER of collector/Dockerfile, got ${String(uid)}`);

  const configArg = c.args?.find((arg) => arg.startsWith('--config='));
  if (configArg !== `--config=${tier.configFile}`) problems.push(`${at}: args must include --config=${tier.configFile}, got ${String(configArg)}`);
  const config = tierConfig(objects, tier);
  if (!config) return [...problems, `${at}: no ConfigMap mounted provides ${tier.configFile}`];

  for (const port of listenPorts(config)) {
    if (!c.ports?.some((p) => p.containerPort === port)) problems.push(`${at}: container port ${port} (${path.posix.basename(tier.configFile)} listens there) not declared`);
  }
  const healthPort = Number(config.extensions?.health_check?.endpoint?.split(':').pop());
  for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'] as const) {
    const port = c[probe]?.httpGet?.port;
    if (port === undefined || containerPort(c, port) !== healthPort) problems.push(`${at}: ${probe} must hit the health_check extension on ${healthPort}`);
  }

  // GOMEMLIMIT: the Go runtime's soft limit, below the container's limit that memory_limiter reads.
  const limit = quantityBytes(String(c.resources?.limits?.memory ?? ''));
  const goLimit = goMemLimitBytes(c.env?.find((e) => e.name === 'GOMEMLIMIT')?.value ?? '');
  if (limit === undefined || goLimit === undefined || goLimit < 0.7 * limit || goLimit > 0.9 * limit) {
    problems.push(`${at}: env GOMEMLIMIT must be about 80% (70-90%) of limits.memory ${String(c.resources?.limits?.memory)}`);
  }
  // No write-ahead log, no state: the only volume is the configuration.
  for (const volume of pod.volumes ?? []) {
    if (!volume.configMap) problems.push(`${at}: volume ${volume.name} is not a ConfigMap (${Object.keys(volume).filter((k) => k !== 'name').join(', ')}): the collector keeps no state`);
  }
  return problems;
}

/** Sidecars -> Service otel-collector -> routers -> (resolver) headless Service -> writers. */
function routingProblems(objects: Objects): string[] {
  const problems: string[] = [];
  const routerLabels = workload(objects, ROUTER.workload).spec?.template.metadata?.labels ?? {};
  const writerLabels = workload(objects, WRITER.workload).spec?.template.metadata?.labels ?? {};
  const router = podSpec(workload(objects, ROUTER.workload)).containers[0] as IContainer;
  const writer = podSpec(workload(objects, WRITER.workload)).containers[0] as IContainer;

  // What the sidecars export to: the routers only.
  const svc = service(objects, 'otel-collector');
  if (!selects(svc.spec?.selector, routerLabels) || selects(svc.spec?.selector, writerLabels)) {
    problems.push('routing: Service otel-collector must select the routers only, never a writer (several writers would write one sidecar\'s series)');
  }
  for (const port of [4317, 4318]) {
    const exposed = svc.spec?.ports?.find((p) => p.port === port);
    if (!exposed || containerPort(router, exposed.targetPort ?? port) !== port) problems.push(`routing: Service otel-collector must expose ${port} on the routers`);
  }
  problems.push(...urlProblems(objects, DEFAULT_COLLECTOR_ENDPOINT, 'the injected sidecars\' OTLP endpoint', OBSERVABILITY_NAMESPACE, 'otel-collector'));

  // The routers' load_balancing exporter: keyed on the resource, resolving the writers in DNS.
  const balancer = tierConfig(objects, ROUTER)?.exporters?.load_balancing;
  if (balancer?.routing_key !== 'resource') problems.push(`routing: the routers' load_balancing routing_key must be resource (one writer per sidecar), got ${String(balancer?.routing_key)}`);
  const dns = balancer?.resolver?.dns;
  if (!dns?.hostname) return [...problems, 'routing: the routers\' load_balancing exporter has no dns resolver'];
  const [name = '', namespace = OBSERVABILITY_NAMESPACE, ...rest] = dns.hostname.split('.');
  if (rest.length > 0 && rest.join('.') !== 'svc.cluster.local') problems.push(`routing: resolver hostname ${dns.hostname} is not <service>.<namespace>.svc.cluster.local`);
  const writers = ofKind<IService>(objects, 'Service').find((s) => s.metadata?.name === name && s.metadata.namespace === namespace);
  if (!writers) return [...problems, `routing: resolver hostname ${dns.hostname}: no Service ${name} in namespace ${namespace}`];
  if (writers.spec?.clusterIP !== 'None') problems.push(`routing: Service ${name} must be headless (clusterIP: None), so the resolver gets one address per writer`);
  if (!selects(writers.spec?.selector, writerLabels) || selects(writers.spec?.selector, routerLabels)) problems.push(`routing: Service ${name} must select the writers only, not a router`);
  const grpcPort = Number(tierConfig(objects, WRITER)?.receivers?.otlp?.protocols?.grpc?.endpoint?.split(':').pop());
  const port = Number(dns.port ?? 4317);
  const exposed = writers.spec?.ports?.find((p) => p.port === port);
  if (port !== grpcPort || !exposed || containerPort(writer, exposed.targetPort ?? port) !== grpcPort) {
    problems.push(`routing: the resolver's port ${port} must be exposed by Service ${name} on the writers' OTLP/gRPC port ${grpcPort}`);
  }
  const statefulSet = workload(objects, WRITER.workload) as IStatefulSet;
  if (statefulSet.spec?.serviceName !== name) problems.push(`routing: ${WRITER.workload}'s serviceName must be its headless Service ${name}, got ${String(statefulSet.spec?.serviceName)}`);
  return problems;
}

/** The headless Service Prometheus resolves: every pod of both tiers, on their metrics port. */
function collectorMetricsProblems(objects: Objects): string[] {
  const problems: string[] = [];
  const svc = service(objects, 'otel-collector-metrics');
  if (svc.spec?.clusterIP !== 'None') problems.push('collector metrics: Service otel-collector-metrics must be headless (clusterIP: None): one address per pod');
  for (const tier of [ROUTER, WRITER]) {
    const w = workload(objects, tier.workload);
    if (!selects(svc.spec?.selector, w.spec?.template.metadata?.labels ?? {})) problems.push(`collector metrics: Service otel-collector-metrics does not select ${tier.workload}`);
    const c = podSpec(w).containers[0] as IContainer;
    const metricsPort = tierConfig(objects, tier)?.service?.telemetry?.metrics?.readers?.[0]?.pull?.exporter?.prometheus?.port;
    const exposed = svc.spec?.ports?.find((p) => p.port === metricsPort);
    if (metricsPort === undefined || !exposed || containerPort(c, exposed.targetPort ?? metricsPort) !== metricsPort) {
      problems.push(`collector metrics: Service otel-collector-metrics must expose ${String(metricsPort)}, ${tier.workload}'s own-metrics port`);
    }
  }
  return problems;
}

function prometheusProblems(objects: Objects): string[] {
  const problems: string[] = [];
  const statefulSet = workload(objects, 'prometheus') as IStatefulSet;
  const pod = podSpec(statefulSet);
  const c = container(objects, 'prometheus');
  const args = c.args ?? [];
  if (!args.includes('--web.enable-remote-write-receiver')) problems.push('prometheus: --web.enable-remote-write-receiver missing');
  if (!args.includes('--enable-feature=native-histograms')) problems.push('prometheus: --enable-feature=native-histograms missing (exponential histograms would be answered 500)');

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
    for (const discovery of scrape.dns_sd_configs ?? []) {
      for (const name of discovery.names) problems.push(...dnsTargetProblems(objects, name, discovery, `scrape job ${scrape.job_name}`));
    }
  }
  // The collectors' own metrics: from every pod of every tier, each a target of its own.
  const collectorJob = config.scrape_configs?.find((scrape) => scrape.job_name === COLLECTOR_JOB);
  const discovered = (collectorJob?.dns_sd_configs ?? []).flatMap((d) => d.names.map((name) => headlessService(objects, name)));
  for (const tier of [ROUTER, WRITER]) {
    const labels = workload(objects, tier.workload).spec?.template.metadata?.labels ?? {};
    if (collectorJob?.static_configs?.length || !discovered.some((svc) => selects(svc?.spec?.selector, labels))) {
      problems.push(`prometheus: scrape job ${COLLECTOR_JOB} must reach every collector pod (dns_sd_configs on a headless Service), but misses ${tier.workload}'s or goes through a Service`);
    }
  }
  const writer = podSpec(workload(objects, WRITER.workload)).containers[0];
  const remoteWrite = collectorEnv(tierConfig(objects, WRITER)?.exporters?.prometheus_remote_write?.http?.endpoint ?? '', writer?.env);
  problems.push(...urlProblems(objects, remoteWrite, 'the collector writers\' remote write', OBSERVABILITY_NAMESPACE, 'prometheus'));
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

interface PullScrapeFile {
  scrape_configs: Array<{
    job_name: string;
    kubernetes_sd_configs?: Array<{ role: string; selectors?: Array<{ role: string; label?: string }> }>;
    relabel_configs?: Array<{ source_labels?: string[]; regex?: string; action?: string; target_label?: string }>;
    scrape_protocols?: string[];
  }>;
}

/**
 * prometheus.yml's scrape_config_files reach the mounted sidecars.yml; its job selects the pods
 * inject labels in pull mode, keeps only their admin port, and sets no label besides `instance`
 * (anything more would make its series differ from the collector path's).
 */
function pullScrapeProblems(objects: Objects): string[] {
  const pod = podSpec(workload(objects, 'prometheus'));
  const c = container(objects, 'prometheus');
  const configFile = flag(c.args ?? [], '--config.file') ?? '';
  const config = parse(configMapFile(objects, pod, c, configFile) ?? '{}') as { scrape_config_files?: string[] };
  const globs = config.scrape_config_files ?? [];
  const file = globs.map((glob) => path.posix.join(path.posix.resolve(path.posix.dirname(configFile), path.posix.dirname(glob)), 'sidecars.yml')).find((candidate) => configMapFile(objects, pod, c, candidate) !== undefined);
  if (file === undefined) return [`prometheus: no scrape_config_files entry (${globs.join(', ')}) reaches a mounted sidecars.yml`];
  const jobs = (parse(configMapFile(objects, pod, c, file) ?? '') as PullScrapeFile).scrape_configs;
  const job = jobs.find((candidate) => candidate.job_name === 'genai-sidecar');
  if (job === undefined) return [`${file}: no genai-sidecar job`];
  const problems: string[] = [];
  const selectors = (job.kubernetes_sd_configs ?? []).flatMap((sd) => sd.selectors ?? []);
  if (!selectors.some((selector) => selector.role === 'pod' && selector.label === `${SCRAPE_LABEL}=true`)) problems.push(`${file}: pods are not selected by ${SCRAPE_LABEL}=true`);
  // Protobuf first whatever the feature flags: the text page costs the sidecar several times the CPU.
  if (job.scrape_protocols?.[0] !== 'PrometheusProto') problems.push(`${file}: scrape_protocols must start with PrometheusProto`);
  const relabels = job.relabel_configs ?? [];
  if (!relabels.some((r) => r.action === 'keep' && r.regex === ADMIN_PORT_NAME && r.source_labels?.[0] === '__meta_kubernetes_pod_container_port_name')) problems.push(`${file}: only the ${ADMIN_PORT_NAME} port may be kept`);
  for (const r of relabels) {
    if (r.target_label !== undefined && !r.target_label.startsWith('__') && r.target_label !== 'instance') problems.push(`${file}: sets label ${r.target_label}, which the collector path's series do not have`);
  }
  return problems;
}

function roleOf(objects: Objects, name: string): { rules?: Array<{ resources?: string[]; verbs?: string[] }> } {
  const role = objects.find((o) => o.kind === 'ClusterRole' && o.metadata.name === name);
  if (role === undefined) throw new Error(`no ClusterRole ${name}`);
  return role as { rules?: Array<{ resources?: string[]; verbs?: string[] }> };
}

/** Prometheus's ServiceAccount may get, list and watch pods, and nothing else, through one ClusterRole. */
function prometheusRbacProblems(objects: Objects): string[] {
  const prometheus = workloads(objects).find((w) => w.metadata?.name === 'prometheus');
  if (prometheus === undefined) return ['no prometheus workload'];
  const account = podSpec(prometheus).serviceAccountName;
  if (account === undefined) return ['prometheus: runs as the default ServiceAccount; it needs its own to read pods'];
  const problems: string[] = [];
  if (!objects.some((o) => o.kind === 'ServiceAccount' && o.metadata.name === account)) problems.push(`prometheus: ServiceAccount ${account} is not in the manifests`);
  const bindings = objects.filter((o) => /RoleBinding$/.test(o.kind) && JSON.stringify((o as { subjects?: unknown }).subjects ?? []).includes(`"${account}"`));
  if (bindings.length !== 1) problems.push(`prometheus: ${bindings.length} bindings grant ServiceAccount ${account} permissions, want 1`);
  for (const binding of bindings) {
    const roleName = (binding as { roleRef?: { name?: string } }).roleRef?.name;
    const role = objects.find((o) => /Role$/.test(o.kind) && o.metadata.name === roleName) as { rules?: Array<{ apiGroups?: string[]; resources?: string[]; verbs?: string[] }> } | undefined;
    if (role === undefined) problems.push(`prometheus: ${id(binding)} refers to a role not in the manifests`);
    for (const rule of role?.rules ?? []) {
      if (JSON.stringify(rule.apiGroups) !== '[""]' || JSON.stringify(rule.resources) !== '["pods"]' || rule.verbs?.some((verb) => !['get', 'list', 'watch'].includes(verb))) {
        problems.push(`prometheus: its role allows ${JSON.stringify(rule)}; it needs get/list/watch on pods only`);
      }
    }
  }
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
  receivers?: { otlp?: { protocols?: { grpc?: { endpoint?: string }; http?: { endpoint?: string } } } };
  extensions?: { health_check?: { endpoint?: string } };
  exporters?: {
    prometheus_remote_write?: { http?: { endpoint?: string } };
    load_balancing?: { routing_key?: string; resolver?: { dns?: { hostname?: string; port?: string | number } } };
  };
  service?: { telemetry?: { metrics?: { readers?: { pull?: { exporter?: { prometheus?: { port?: number } } } }[] } } };
}
interface DnsDiscovery {
  names: string[];
  type?: string;
  port?: number;
}
interface PrometheusConfig {
  rule_files?: string[];
  scrape_configs?: { job_name: string; static_configs?: { targets?: string[] }[]; dns_sd_configs?: DnsDiscovery[] }[];
}
interface GrafanaProvisioning {
  providers?: { options?: { path?: string } }[];
  datasources?: { name?: string; url?: string }[];
}
/** The parsed config file a collector tier runs, as its pods see it. */
function tierConfig(objects: Objects, tier: Tier): CollectorConfig | undefined {
  const w = workloads(objects).find((each) => each.metadata?.name === tier.workload);
  const c = w && podSpec(w).containers[0];
  if (!w || !c) return undefined;
  const file = c.args?.find((arg) => arg.startsWith('--config='))?.slice('--config='.length) ?? tier.configFile;
  const text = configMapFile(objects, podSpec(w), c, file);
  return text === undefined ? undefined : (parse(text) as CollectorConfig);
}

/** The ports a collector config listens on: OTLP gRPC and HTTP, health_check, its own metrics. */
function listenPorts(config: CollectorConfig): number[] {
  const port = (endpoint: string | undefined): number => Number(endpoint?.split(':').pop());
  return [
    port(config.receivers?.otlp?.protocols?.grpc?.endpoint),
    port(config.receivers?.otlp?.protocols?.http?.endpoint),
    port(config.extensions?.health_check?.endpoint),
    Number(config.service?.telemetry?.metrics?.readers?.[0]?.pull?.exporter?.prometheus?.port),
  ];
}

/** A Kubernetes memory quantity (512Mi, 1Gi, 500M, plain bytes) in bytes. */
function quantityBytes(quantity: string): number | undefined {
  const units: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
  const match = /^(\d+(?:\.\d+)?)(k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(quantity);
  return match ? Number(match[1]) * (units[match[2] ?? ''] as number) : undefined;
}

/** GOMEMLIMIT (bytes with an optional B, KiB, MiB, GiB or TiB suffix) in bytes. */
function goMemLimitBytes(value: string): number | undefined {
  const units: Record<string, number> = { '': 1, B: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40 };
  const match = /^(\d+)(B|KiB|MiB|GiB|TiB)?$/.exec(value);
  return match ? Number(match[1]) * (units[match[2] ?? ''] as number) : undefined;
}

/** The Service a DNS name resolves to from the observability namespace, when it is headless. */
function headlessService(objects: Objects, hostname: string): IService | undefined {
  const [name, namespace = OBSERVABILITY_NAMESPACE] = hostname.split('.');
  const svc = ofKind<IService>(objects, 'Service').find((s) => s.metadata?.name === name && s.metadata.namespace === namespace);
  return svc?.spec?.clusterIP === 'None' ? svc : undefined;
}

/**
 * A dns_sd_configs name used from Prometheus's namespace: an A lookup lists every pod only for a
 * headless Service, which must select pods whose containers listen on the scraped port.
 */
function dnsTargetProblems(objects: Objects, hostname: string, discovery: DnsDiscovery, what: string): string[] {
  const [name, namespace = OBSERVABILITY_NAMESPACE] = hostname.split('.');
  const where = `${what} (dns_sd ${hostname})`;
  const svc = ofKind<IService>(objects, 'Service').find((s) => s.metadata?.name === name && s.metadata.namespace === namespace);
  if (!svc) return [`${where}: no Service ${String(name)} in namespace ${namespace}`];
  if ((discovery.type ?? 'SRV') !== 'A' || svc.spec?.clusterIP !== 'None') return [`${where}: must be an A lookup of a headless Service (one address per pod)`];
  const port = discovery.port;
  const exposed = svc.spec?.ports?.find((p) => p.port === port);
  const backends = workloads(objects).filter((w) => w.metadata?.namespace === namespace && selects(svc.spec?.selector, w.spec?.template.metadata?.labels ?? {}));
  // Pod addresses are scraped directly: the port is the container's, whatever the Service maps.
  const listens = backends.length > 0 && backends.every((w) => podSpec(w).containers.some((c) => c.ports?.some((p) => p.containerPort === port)));
  if (!exposed || !listens) return [`${where}: the pods behind Service ${String(name)} do not all listen on port ${String(port)}`];
  return [];
}

/** Gives the named container a writable scratch volume at `mountPath`. */
function addScratchVolume(objects: Objects, containerName: string, mountPath: string): void {
  const owner = workloads(objects).find((w) => podSpec(w).containers.some((c) => c.name === containerName));
  if (!owner) throw new Error(`no container ${containerName}`);
  podSpec(owner).volumes = [...(podSpec(owner).volumes ?? []), { name: 'scratch', emptyDir: {} }];
  const c = container(objects, containerName);
  c.volumeMounts = [...(c.volumeMounts ?? []), { name: 'scratch', mountPath }];
}

/** Replaces how prometheus.yml's collector job finds its targets. */
function scrapeCollectorsAt(objects: Objects, discovery: Record<string, unknown>): void {
  editConfigMapFile<PrometheusConfig>(objects, 'prometheus.yml', (config) => {
    const jobs = config.scrape_configs ?? [];
    const index = jobs.findIndex((job) => job.job_name === COLLECTOR_JOB);
    jobs[index] = { job_name: COLLECTOR_JOB, ...discovery };
  });
}

function roleBinding(): KubernetesObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'extra', namespace: 'genai-sidecar-system' },
    subjects: [{ kind: 'ServiceAccount', name: 'genai-sidecar-injector' }],
  } as KubernetesObject;
}
