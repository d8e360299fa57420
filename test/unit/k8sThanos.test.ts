/**
 * k8s/overlays/thanos as a user applies it, without a cluster: the real kubectl 1.34 renders the
 * overlay (test/helpers/kubectl.ts), every object must pass strict schema validation and the
 * hardening rules of the base, and the pieces must point at each other: the hashring at the
 * Receive pods' stable names, Query at every StoreAPI by DNS SRV, the writers, the Prometheus
 * agent and the Ruler at Receive's remote-write port and path, Grafana at Query, the bucket's
 * Secret and the generated alert rules where the flags read them. The real Thanos and Prometheus
 * binaries of this repository's releases parse every container's flags, promtool checks the
 * agent's config and `thanos tools rules-check` the rules the Ruler loads. The base's objects stay
 * as they are apart from the four the overlay patches.
 *
 * Each rule is a function that returns problems; the "catches" table breaks a rendered copy once
 * per rule to prove that every rule can fail.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { isDeepStrictEqual } from 'node:util';
import { parse } from 'yaml';
import { renderAlertRuleFiles } from '../../src/observability/alerts/rules';
import { DATASOURCE_NAME, DATASOURCE_UID } from '../../src/observability/dashboards/datasource';
import { thanosDatasourceProvisioning } from '../../src/observability/dashboards/provisioning';
import { loadKubernetesSchemas, validateKubernetesObject } from '../helpers/k8sSchema';
import {
  collectorEnv,
  configMapFile,
  container,
  containerPort,
  flag,
  hardeningProblems,
  id,
  mountAt,
  mountedConfigMap,
  ofKind,
  podSpec,
  removeArg,
  selects,
  service,
  workload,
  workloads,
  type Objects,
  type Workload,
} from '../helpers/k8sRules';
import { renderKustomization, type KubernetesObject } from '../helpers/kubectl';
import { PROMETHEUS_BIN_DIR } from '../helpers/prometheus';
import { requireThanos, THANOS_VERSION } from '../helpers/thanos';

const ROOT = path.resolve(__dirname, '../..');
const OVERLAY = 'k8s/overlays/thanos';
const NAMESPACE = 'genai-observability';
const THANOS_IMAGE = `quay.io/thanos/thanos:v${THANOS_VERSION}`;
/** Thanos Receive's remote-write handler. */
const RECEIVE_PATH = '/api/v1/receive';
/** The label Receive stamps, Query deduplicates on and the Compactor merges over. */
const REPLICA_LABEL = 'replica';
/** The retention tiers issue 26 asks for, as Compactor flags. */
const RETENTION: Record<string, string> = { '--retention.resolution-raw': '7d', '--retention.resolution-5m': '90d', '--retention.resolution-1h': '2y' };
/** What the overlay patches in the base, and nothing else. */
const PATCHED = ['ConfigMap genai-observability/grafana-provisioning-datasources', 'ConfigMap genai-observability/prometheus-config', 'StatefulSet genai-observability/otel-collector-writer', 'StatefulSet genai-observability/prometheus'];
const OBJSTORE_FILE = path.join(ROOT, OVERLAY, 'objstore.yml');
const BASE_PROMETHEUS = parse(readFileSync(path.join(ROOT, 'prometheus/prometheus.yml'), 'utf8')) as PrometheusConfig;

let overlay: Objects;
let base: Objects;

beforeAll(async () => {
  await loadKubernetesSchemas();
  overlay = renderKustomization(path.join(ROOT, OVERLAY));
  base = renderKustomization(path.join(ROOT, 'k8s'));
});

function rendered(): Objects {
  return structuredClone(overlay);
}

describe('kubectl kustomize', () => {
  test(`${OVERLAY} renders, and every object passes strict schema validation`, () => {
    expect(overlay.length).toBeGreaterThan(base.length);
    expect(overlay.map(asSent).flatMap(validateKubernetesObject)).toEqual([]);
  });

  test('the overlay stands on the same bases as k8s/kustomization.yaml', () => {
    const stack = (parse(readFileSync(path.join(ROOT, 'k8s/kustomization.yaml'), 'utf8')) as { resources: string[] }).resources;
    const own = (parse(readFileSync(path.join(ROOT, OVERLAY, 'kustomization.yaml'), 'utf8')) as { resources: string[] }).resources;
    expect(own.filter((resource) => resource.startsWith('../')).map((resource) => path.posix.relative('../..', resource))).toEqual(stack);
  });
});

describe('rules hold for the rendered overlay', () => {
  test('every container runs hardened, as in the base', () => expect(hardeningProblems(rendered())).toEqual([]));
  test("the base's objects are unchanged but for the writers' endpoint, Prometheus as an agent and Grafana's datasource", () => expect(baseProblems(rendered())).toEqual([]));
  test('every Thanos object is in genai-observability and labelled part of genai-sidecar', () => expect(placementProblems(rendered())).toEqual([]));
  test(`every Thanos container runs ${THANOS_IMAGE}, the release scripts/build-thanos.sh builds`, () => expect(imageProblems(rendered())).toEqual([]));
  test('Receive: 3 replicas, RF 2, a hashring of their stable names, a PDB and anti-affinity', () => expect(receiveProblems(rendered())).toEqual([]));
  test('the bucket Secret is mounted wherever --objstore.config-file points, and holds objstore.yml', () => expect(objstoreProblems(rendered())).toEqual([]));
  test('the Compactor is a singleton with the retention tiers, downsampling and deduplication', () => expect(compactProblems(rendered())).toEqual([]));
  test('Query deduplicates, downsamples automatically and reaches Receive, Store Gateway and Ruler on their gRPC port', () => expect(queryProblems(rendered())).toEqual([]));
  test('the Ruler loads the generated rules, queries Query and remote-writes to Receive', () => expect(ruleProblems(rendered())).toEqual([]));
  test('the writers remote-write to Receive', () => expect(writerProblems(rendered())).toEqual([]));
  test("Prometheus runs as an agent with the base's scrape jobs, remote-writing to Receive", () => expect(agentProblems(rendered())).toEqual([]));
  test("Grafana's datasource keeps the dashboards' uid and name and queries Thanos Query", () => expect(grafanaProblems(rendered())).toEqual([]));
});

describe('the real binaries accept the rendered configuration', () => {
  test(`thanos ${THANOS_VERSION} parses every Thanos container's flags, and prometheus the agent's`, () => expect(flagProblems(rendered())).toEqual([]));
  test('thanos tools rules-check accepts the rule files the Ruler loads', () => expect(rulesCheckProblems(rendered())).toEqual([]));
  test('promtool check config --agent accepts the config the agent loads, with its scrape files', () => expect(promtoolProblems(rendered())).toEqual([]));
});

describe('objstore.yml', () => {
  const objstore = parse(readFileSync(OBJSTORE_FILE, 'utf8')) as { type?: string; config?: Record<string, unknown> };

  test('is an S3 config with placeholders to fill in, and no credentials', () => {
    expect(objstore.type).toBe('S3');
    for (const key of ['bucket', 'endpoint', 'region']) expect(String(objstore.config?.[key])).toMatch(/REPLACE-WITH-/);
    expect(Object.keys(objstore.config ?? {}).filter((key) => /key|token|secret/i.test(key))).toEqual([]);
    // The pod's identity (IRSA, EKS Pod Identity, instance profile) through the AWS SDK's chain.
    expect(objstore.config?.aws_sdk_auth).toBe(true);
  });
});

type Mutation = (objects: Objects) => void;
const CATCHES: [string, (objects: Objects) => string[], Mutation, string][] = [
  ['a writable root filesystem', hardeningProblems, (o) => (container(o, 'receive').securityContext!.readOnlyRootFilesystem = false), 'readOnlyRootFilesystem'],
  ['no memory limit', hardeningProblems, (o) => delete container(o, 'query').resources?.limits, 'limits'],
  ['a Thanos pod with the API token', hardeningProblems, (o) => (podSpec(workload(o, 'thanos-store')).automountServiceAccountToken = true), 'automountServiceAccountToken'],
  ['a base object changed', baseProblems, (o) => (workload(o, 'grafana').spec!.replicas = 3), 'Deployment genai-observability/grafana'],
  ['a patch that no longer applies', baseProblems, (o) => (container(o, 'writer').env = container(o, 'writer').env?.filter((e) => e.name === 'GOMEMLIMIT')), 'otel-collector-writer'],
  ['a patch that changes more', baseProblems, (o) => (container(o, 'writer').image = 'otel/opentelemetry-collector-contrib:0.136.0'), 'otel-collector-writer'],
  ['a Thanos object in another namespace', placementProblems, (o) => (workload(o, 'thanos-query').metadata!.namespace = 'default'), 'namespace'],
  ['another Thanos release', imageProblems, (o) => (container(o, 'store').image = 'quay.io/thanos/thanos:v0.39.0'), THANOS_IMAGE],
  ['two Receive replicas', receiveProblems, (o) => (workload(o, 'thanos-receive').spec!.replicas = 2), 'replicas'],
  ['replication factor 3', receiveProblems, (o) => setFlag(container(o, 'receive'), '--receive.replication-factor', '3'), 'replication-factor'],
  ['a hashring missing a replica', receiveProblems, (o) => editHashring(o, (endpoints) => endpoints.slice(0, 2)), 'thanos-receive-2'],
  ['a hashring on the HTTP port', receiveProblems, (o) => editHashring(o, (endpoints) => endpoints.map((e) => e.replace(/:10901$/, ':10902'))), 'hashring'],
  ['a local endpoint the hashring does not name', receiveProblems, (o) => setFlag(container(o, 'receive'), '--receive.local-endpoint', '$(POD_NAME):10901'), 'local-endpoint'],
  ['the replica label from a fixed value', receiveProblems, (o) => setFlag(container(o, 'receive'), '--label', 'replica="receive"'), 'POD_NAME'],
  ['a hashring Service with a cluster IP', receiveProblems, (o) => delete service(o, 'thanos-receive-headless').spec!.clusterIP, 'headless'],
  ['hashmod instead of ketama', receiveProblems, (o) => setFlag(container(o, 'receive'), '--receive.hashrings-algorithm', 'hashmod'), 'ketama'],
  ['no Receive PDB', receiveProblems, (o) => o.splice(o.findIndex((x) => x.kind === 'PodDisruptionBudget' && x.metadata.name === 'thanos-receive'), 1), 'PodDisruptionBudget'],
  ['Receive without anti-affinity', receiveProblems, (o) => delete podSpec(workload(o, 'thanos-receive')).affinity, 'anti-affinity'],
  ['Receive TSDB off the claim', receiveProblems, (o) => setFlag(container(o, 'receive'), '--tsdb.path', '/tmp/receive'), 'tsdb.path'],
  ['a local retention as long as the raw tier', receiveProblems, (o) => setFlag(container(o, 'receive'), '--tsdb.retention', '15d'), 'tsdb.retention'],
  ['the bucket config from a ConfigMap', objstoreProblems, (o) => (podSpec(workload(o, 'thanos-compact')).volumes!.find((v) => v.name === 'objstore')!.secret = undefined), 'Secret'],
  ['the bucket config at another path', objstoreProblems, (o) => setFlag(container(o, 'store'), '--objstore.config-file', '/etc/thanos/bucket.yml'), 'objstore'],
  ['Receive without a bucket', objstoreProblems, (o) => removeFlag(container(o, 'receive'), '--objstore.config-file'), 'thanos-receive'],
  ['a Secret that is not objstore.yml', objstoreProblems, (o) => (ofKind<ISecret>(o, 'Secret')[0]!.data = { 'objstore.yml': Buffer.from('type: FILESYSTEM\n').toString('base64') }), 'objstore.yml'],
  ['two compactors', compactProblems, (o) => (workload(o, 'thanos-compact').spec!.replicas = 2), 'replicas'],
  ['raw data kept 30 days', compactProblems, (o) => setFlag(container(o, 'compact'), '--retention.resolution-raw', '30d'), 'retention.resolution-raw'],
  ['1-hour data kept 1 year', compactProblems, (o) => setFlag(container(o, 'compact'), '--retention.resolution-1h', '1y'), 'retention.resolution-1h'],
  ['downsampling off', compactProblems, (o) => container(o, 'compact').args!.push('--downsampling.disable'), 'downsampling'],
  ['a Compactor that runs once', compactProblems, (o) => removeArg(container(o, 'compact'), '--wait'), '--wait'],
  ['deduplication over another label', compactProblems, (o) => setFlag(container(o, 'compact'), '--deduplication.replica-label', 'prometheus_replica'), 'deduplication.replica-label'],
  ['Query without the replica label', queryProblems, (o) => removeFlag(container(o, 'query'), '--query.replica-label'), 'query.replica-label'],
  ['Query on raw data only', queryProblems, (o) => removeArg(container(o, 'query'), '--query.auto-downsampling'), 'auto-downsampling'],
  ['instant queries on raw data only', queryProblems, (o) => removeFlag(container(o, 'query'), '--query.instant.default.max_source_resolution'), 'max_source_resolution'],
  ['Query without the Store Gateway', queryProblems, (o) => (container(o, 'query').args = container(o, 'query').args?.filter((a) => !a.includes('thanos-store'))), 'thanos-store'],
  ['Query on the Store Gateway\'s HTTP port', queryProblems, (o) => (container(o, 'query').args = container(o, 'query').args?.map((a) => a.replace('_grpc._tcp.thanos-store', '_http._tcp.thanos-store'))), 'thanos-store'],
  ['Query on a Receive Service with a cluster IP', queryProblems, (o) => delete service(o, 'thanos-receive-headless').spec!.clusterIP, 'headless'],
  ['one Query replica', queryProblems, (o) => (workload(o, 'thanos-query').spec!.replicas = 1), 'replicas'],
  ['rules not where --rule-file points', ruleProblems, (o) => setFlag(container(o, 'rule'), '--rule-file', '/etc/thanos/rules/*.yaml'), 'rule-file'],
  ['rules that are not the generated ones', ruleProblems, (o) => editRuleFile(o, (text) => text.replace(/for: \S+/, 'for: 1h')), 'generated'],
  ['a Ruler that queries Receive', ruleProblems, (o) => setFlag(container(o, 'rule'), '--query', 'thanos-receive.genai-observability.svc.cluster.local:19291'), 'thanos-query'],
  ['a stateful Ruler', ruleProblems, (o) => removeFlag(container(o, 'rule'), '--remote-write.config-file'), 'remote-write'],
  ['Ruler results written to Prometheus', ruleProblems, (o) => editConfigMap(o, 'thanos-rule-remote-write', 'remote-write.yml', 'remote_write:\n  - url: http://prometheus:9090/api/v1/write\n'), 'thanos-receive'],
  ['rules evaluated every minute', ruleProblems, (o) => setFlag(container(o, 'rule'), '--eval-interval', '1m'), 'eval-interval'],
  ['writers still on Prometheus', writerProblems, (o) => (container(o, 'writer').env = container(o, 'writer').env?.filter((e) => e.name !== 'GENAI_REMOTE_WRITE_ENDPOINT')), 'prometheus'],
  ['writers on the wrong path', writerProblems, (o) => setEnv(container(o, 'writer'), 'GENAI_REMOTE_WRITE_ENDPOINT', 'http://thanos-receive.genai-observability.svc:19291/api/v1/write'), RECEIVE_PATH],
  ['writers on the gRPC port', writerProblems, (o) => setEnv(container(o, 'writer'), 'GENAI_REMOTE_WRITE_ENDPOINT', `http://thanos-receive.genai-observability.svc:10901${RECEIVE_PATH}`), '10901'],
  ['Prometheus still a server', agentProblems, (o) => removeArg(container(o, 'prometheus'), '--agent'), '--agent'],
  ['the agent with rule files', agentProblems, (o) => editConfigMap(o, 'prometheus-config', 'prometheus.yml', `${agentConfig(o)}rule_files: [rules/*.yml]\n`), 'rule_files'],
  ['the agent missing a scrape job', agentProblems, (o) => editConfigMap(o, 'prometheus-config', 'prometheus.yml', agentConfig(o).replace('job_name: otel-collector', 'job_name: collectors')), 'scrape_configs'],
  ['the agent writing nowhere', agentProblems, (o) => editConfigMap(o, 'prometheus-config', 'prometheus.yml', agentConfig(o).replace(/remote_write:[\s\S]*$/, '')), 'remote_write'],
  ['the agent without pull-mode sidecars', agentProblems, (o) => (podSpec(workload(o, 'prometheus')).containers[0]!.volumeMounts = container(o, 'prometheus').volumeMounts?.filter((m) => m.name !== 'scrape')), 'scrape_config_files'],
  ['Grafana on the agent', grafanaProblems, (o) => editDatasource(o, (text) => text.replace('http://thanos-query:9090', 'http://prometheus:9090')), 'thanos-query'],
  ['a datasource uid the dashboards do not use', grafanaProblems, (o) => editDatasource(o, (text) => text.replace(`uid: ${DATASOURCE_UID}`, 'uid: thanos')), DATASOURCE_UID],
  ['an unknown Thanos flag', flagProblems, (o) => container(o, 'receive').args!.push('--receive.replication-factors=2'), 'unknown long flag'],
  ['an unknown Prometheus flag', flagProblems, (o) => container(o, 'prometheus').args!.push('--storage.tsdb.retention.time=15d', '--agent-mode'), 'unknown long flag'],
  ['a rule the Ruler cannot parse', rulesCheckProblems, (o) => editRuleFile(o, (text) => text.replace('> 0.05', '> > 0.05')), 'parse'],
  ['an agent config promtool refuses', promtoolProblems, (o) => editConfigMap(o, 'prometheus-config', 'prometheus.yml', `${agentConfig(o)}alerting_rules: []\n`), 'promtool'],
];

test.each(CATCHES)('catches: %s', (_name, rule, mutate, expected) => {
  const objects = rendered();
  expect(rule(objects)).toEqual([]);
  mutate(objects);
  expect(rule(objects).join('\n')).toContain(expected);
});

// ---------------------------------------------------------------------------------------------
// Rules

/**
 * Every object the base renders is in the overlay, equal once generated names are set aside,
 * except the four the overlay patches; those differ from the base in what the patch sets alone.
 */
function baseProblems(objects: Objects): string[] {
  const problems: string[] = [];
  const changed: string[] = [];
  for (const object of base) {
    const mine = objects.find((o) => o.kind === object.kind && original(o) === original(object) && o.metadata.namespace === object.metadata.namespace);
    if (!mine) {
      problems.push(`${id(object)} of the base is missing from the overlay`);
      continue;
    }
    if (!isDeepStrictEqual(withoutGeneratedNames(mine, objects), withoutGeneratedNames(object, base))) changed.push(`${object.kind} ${object.metadata.namespace ?? ''}/${original(object)}`);
  }
  const unexpected = changed.filter((each) => !PATCHED.includes(each));
  const unpatched = PATCHED.filter((each) => !changed.includes(each));
  if (unexpected.length > 0) problems.push(`the overlay changes ${unexpected.join(', ')} of the base; it patches only ${PATCHED.join(', ')}`);
  if (unpatched.length > 0) problems.push(`the overlay no longer changes ${unpatched.join(', ')}: a patch does not apply`);
  // The writers gain one variable and nothing else.
  const writer = structuredClone(workload(objects, 'otel-collector-writer'));
  const writerContainer = podSpec(writer).containers[0] as IContainer;
  writerContainer.env = writerContainer.env?.filter((e) => e.name !== 'GENAI_REMOTE_WRITE_ENDPOINT');
  if (!isDeepStrictEqual(withoutGeneratedNames(writer, objects), withoutGeneratedNames(workload(base, 'otel-collector-writer'), base))) {
    problems.push('StatefulSet otel-collector-writer: the overlay changes more than GENAI_REMOTE_WRITE_ENDPOINT');
  }
  // Prometheus changes its flags and loses the rules volume, nothing else.
  const agent = structuredClone(workload(objects, 'prometheus'));
  const server = structuredClone(workload(base, 'prometheus'));
  for (const w of [agent, server]) {
    const c = podSpec(w).containers[0] as IContainer;
    delete c.args;
    c.volumeMounts = c.volumeMounts?.filter((m) => m.name !== 'rules');
    podSpec(w).volumes = podSpec(w).volumes?.filter((v) => v.name !== 'rules');
  }
  if (!isDeepStrictEqual(withoutGeneratedNames(agent, objects), withoutGeneratedNames(server, base))) problems.push('StatefulSet prometheus: the overlay changes more than its args and the rules volume');
  return problems;
}

function placementProblems(objects: Objects): string[] {
  const inBase = new Set(base.map((o) => `${o.kind}/${original(o)}`));
  return objects
    .filter((o) => !inBase.has(`${o.kind}/${original(o)}`))
    .flatMap((o) => [
      ...(o.metadata.namespace === NAMESPACE ? [] : [`${id(o)}: must be in namespace ${NAMESPACE}`]),
      ...(o.metadata.labels?.['app.kubernetes.io/part-of'] === 'genai-sidecar' ? [] : [`${id(o)}: must be labelled app.kubernetes.io/part-of=genai-sidecar`]),
    ]);
}

function imageProblems(objects: Objects): string[] {
  const thanos = thanosContainers(objects);
  const problems = thanos.filter(({ c }) => c.image !== THANOS_IMAGE).map(({ w, c }) => `${id(w)} container ${c.name}: image ${String(c.image)} must be ${THANOS_IMAGE}`);
  if (thanos.length < 5) problems.push(`expected the Receive, Compactor, Store Gateway, Query and Ruler containers, found ${thanos.length}`);
  return problems;
}

function receiveProblems(objects: Objects): string[] {
  const problems: string[] = [];
  const receive = workload(objects, 'thanos-receive') as IStatefulSet;
  const c = podSpec(receive).containers[0] as IContainer;
  const args = c.args ?? [];
  const replicas = receive.spec?.replicas ?? 1;
  if (receive.kind !== 'StatefulSet' || replicas !== 3) problems.push(`receive: must be a StatefulSet of 3 replicas (stable names for the hashring), got ${receive.kind} with replicas ${replicas}`);
  if (flag(args, '--receive.replication-factor') !== '2') problems.push(`receive: --receive.replication-factor must be 2, got ${String(flag(args, '--receive.replication-factor'))}`);
  if (flag(args, '--receive.hashrings-algorithm') !== 'ketama') problems.push('receive: --receive.hashrings-algorithm must be ketama');

  // The hashring names every pod by its stable DNS name, on the port its gRPC server listens on.
  const governing = receive.spec?.serviceName ?? '';
  const headless = ofKind<IService>(objects, 'Service').find((s) => s.metadata?.name === governing);
  if (headless?.spec?.clusterIP !== 'None' || !selects(headless.spec.selector, receive.spec?.template.metadata?.labels ?? {})) {
    problems.push(`receive: its serviceName ${governing} must be a headless Service selecting its pods (each pod's DNS name)`);
  }
  const grpcPort = listenPort(c, '--grpc-address');
  const podName = (i: number | string): string => `${receive.metadata?.name ?? ''}-${i}`;
  const dnsName = (pod: string): string => `${pod}.${governing}.${NAMESPACE}.svc.cluster.local:${grpcPort}`;
  const expected = Array.from({ length: replicas }, (_, i) => dnsName(podName(i)));
  const hashringFile = flag(args, '--receive.hashrings-file') ?? '';
  const hashringText = configMapFile(objects, podSpec(receive), c, hashringFile);
  if (hashringText === undefined) return [...problems, `receive: no ConfigMap mounted provides --receive.hashrings-file ${hashringFile}`];
  const endpoints = (JSON.parse(hashringText) as Array<{ endpoints: Array<string | { address: string }> }>).flatMap((ring) => ring.endpoints.map((e) => (typeof e === 'string' ? e : e.address)));
  if (!isDeepStrictEqual([...endpoints].sort(), [...expected].sort())) problems.push(`receive: hashring endpoints ${endpoints.join(', ')} must be the pods' DNS names ${expected.join(', ')}`);
  const podNameEnv = c.env?.find((e) => e.name === 'POD_NAME')?.valueFrom?.fieldRef?.fieldPath;
  if (podNameEnv !== 'metadata.name') problems.push('receive: env POD_NAME must come from metadata.name');
  if (flag(args, '--receive.local-endpoint') !== dnsName('$(POD_NAME)')) problems.push(`receive: --receive.local-endpoint must be ${dnsName('$(POD_NAME)')}, its own entry in the hashring`);
  if (flag(args, '--label') !== `${REPLICA_LABEL}="$(POD_NAME)"`) problems.push(`receive: --label must be ${REPLICA_LABEL}="$(POD_NAME)", one value per replica`);

  if (!onClaim(receive, c, flag(args, '--tsdb.path'))) problems.push('receive: --tsdb.path must be on a PersistentVolumeClaim');
  const retention = durationMs(flag(args, '--tsdb.retention') ?? '15d');
  if (!(retention > 0 && retention < durationMs(RETENTION['--retention.resolution-raw'] as string))) problems.push('receive: --tsdb.retention must be set, shorter than the raw tier: blocks live in the bucket');
  problems.push(...availabilityProblems(objects, receive, { maxUnavailable: 1 }));
  return problems;
}

function objstoreProblems(objects: Objects): string[] {
  const problems: string[] = [];
  const objstore = readFileSync(OBJSTORE_FILE, 'utf8');
  const users = thanosContainers(objects).filter(({ c }) => flag(c.args ?? [], '--objstore.config-file') !== undefined);
  for (const needed of ['thanos-receive', 'thanos-compact', 'thanos-store']) {
    if (!users.some(({ w }) => w.metadata?.name === needed)) problems.push(`${needed}: needs --objstore.config-file (the bucket)`);
  }
  for (const { w, c } of users) {
    const file = flag(c.args ?? [], '--objstore.config-file') ?? '';
    const m = mountAt(c, file);
    const secretName = podSpec(w).volumes?.find((v) => v.name === m?.name)?.secret?.secretName;
    const secret = ofKind<ISecret>(objects, 'Secret').find((s) => s.metadata?.name === secretName);
    const data = secret?.data?.[path.posix.basename(file)];
    if (!m || path.posix.dirname(file) !== m.mountPath || !secret || data === undefined) {
      problems.push(`${id(w)}: --objstore.config-file ${file} must be a file of a mounted Secret`);
    } else if (Buffer.from(data, 'base64').toString('utf8') !== objstore) {
      problems.push(`${id(w)}: the Secret at ${file} must hold ${OVERLAY}/objstore.yml`);
    }
  }
  return problems;
}

function compactProblems(objects: Objects): string[] {
  const problems: string[] = [];
  const compact = workload(objects, 'thanos-compact');
  const c = podSpec(compact).containers[0] as IContainer;
  const args = c.args ?? [];
  if (compact.kind !== 'StatefulSet' || compact.spec?.replicas !== 1) problems.push(`compact: must be a StatefulSet of exactly 1 replica (one compactor per bucket), got ${compact.kind} with replicas ${String(compact.spec?.replicas)}`);
  for (const [name, value] of Object.entries(RETENTION)) {
    if (flag(args, name) !== value) problems.push(`compact: ${name} must be ${value}, got ${String(flag(args, name))}`);
  }
  if (!args.includes('--wait')) problems.push('compact: --wait missing (it would compact once and exit)');
  if (args.some((arg) => arg.startsWith('--downsampling.disable'))) problems.push('compact: downsampling must stay on (the 5m and 1h tiers)');
  if (flag(args, '--deduplication.replica-label') !== REPLICA_LABEL) problems.push(`compact: --deduplication.replica-label must be ${REPLICA_LABEL}, the label Receive stamps`);
  if (!onClaim(compact, c, flag(args, '--data-dir'))) problems.push('compact: --data-dir must be on a PersistentVolumeClaim');
  return problems;
}

function queryProblems(objects: Objects): string[] {
  const problems: string[] = [];
  const query = workload(objects, 'thanos-query');
  const args = (podSpec(query).containers[0] as IContainer).args ?? [];
  if (flag(args, '--query.replica-label') !== REPLICA_LABEL) problems.push(`query: --query.replica-label must be ${REPLICA_LABEL}`);
  if (!args.includes('--query.auto-downsampling')) problems.push('query: --query.auto-downsampling missing (range queries would read raw data only)');
  if (flag(args, '--query.instant.default.max_source_resolution') !== '1h') problems.push("query: --query.instant.default.max_source_resolution must be 1h (instant queries past the raw tier)");
  if ((query.spec?.replicas ?? 1) < 2) problems.push('query: needs at least 2 replicas');
  problems.push(...availabilityProblems(objects, query, { minAvailable: 1 }));

  const reached = new Set<string>();
  for (const endpoint of args.filter((arg) => arg.startsWith('--endpoint=')).map((arg) => arg.slice('--endpoint='.length))) {
    const match = /^dnssrv\+_([a-z0-9-]+)\._tcp\.([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local$/.exec(endpoint);
    if (!match) {
      problems.push(`query: --endpoint ${endpoint} is not a DNS SRV lookup of a Service (dnssrv+_<port>._tcp.<service>.<namespace>.svc.cluster.local)`);
      continue;
    }
    const [, portName, name, namespace] = match as unknown as [string, string, string, string];
    const svc = ofKind<IService>(objects, 'Service').find((s) => s.metadata?.name === name && s.metadata.namespace === namespace);
    if (svc?.spec?.clusterIP !== 'None') {
      problems.push(`query: --endpoint ${endpoint}: ${name} must be a headless Service (one SRV record per pod)`);
      continue;
    }
    const exposed = svc.spec.ports?.find((p) => p.name === portName);
    for (const backend of backends(objects, svc)) {
      const c = podSpec(backend).containers[0] as IContainer;
      const target = exposed ? containerPort(c, exposed.targetPort ?? exposed.port) : undefined;
      if (target === undefined || target !== listenPort(c, '--grpc-address')) problems.push(`query: --endpoint ${endpoint} must reach ${backend.metadata?.name ?? ''}'s gRPC StoreAPI (--grpc-address)`);
      else reached.add(backend.metadata?.name ?? '');
    }
  }
  for (const needed of ['thanos-receive', 'thanos-store', 'thanos-rule']) {
    if (!reached.has(needed)) problems.push(`query: no --endpoint reaches ${needed} on its gRPC port`);
  }
  return problems;
}

function ruleProblems(objects: Objects): string[] {
  const problems: string[] = [];
  const rule = workload(objects, 'thanos-rule');
  const c = podSpec(rule).containers[0] as IContainer;
  const args = c.args ?? [];
  const loaded = ruleFiles(objects);
  const generated = Object.entries(renderAlertRuleFiles());
  if (loaded.size === 0) problems.push(`rule: no mounted file matches --rule-file ${String(flag(args, '--rule-file'))}`);
  for (const [file, text] of generated) {
    if (loaded.get(path.posix.basename(file)) !== text) problems.push(`rule: the Ruler must load ${file} as generated, at the path --rule-file names`);
  }
  if (loaded.size !== generated.length) problems.push(`rule: loads ${loaded.size} rule files, ${generated.length} are generated`);
  const evaluation = BASE_PROMETHEUS.global?.evaluation_interval;
  if (flag(args, '--eval-interval') !== evaluation) problems.push(`rule: --eval-interval must be the base's evaluation_interval ${String(evaluation)}`);
  problems.push(...reachProblems(objects, 'rule: --query', `http://${flag(args, '--query') ?? ''}`, 'thanos-query', '--http-address'));
  const remoteWriteFile = flag(args, '--remote-write.config-file') ?? '';
  const remoteWrite = configMapFile(objects, podSpec(rule), c, remoteWriteFile);
  if (remoteWrite === undefined) return [...problems, `rule: --remote-write.config-file ${remoteWriteFile} must be a mounted file (stateless mode, results to Receive)`];
  problems.push(...remoteWriteProblems(objects, 'rule', parse(remoteWrite) as PrometheusConfig));
  return problems;
}

function writerProblems(objects: Objects): string[] {
  const writer = podSpec(workload(objects, 'otel-collector-writer'));
  const c = writer.containers[0] as IContainer;
  const configFile = flag(c.args ?? [], '--config') ?? '';
  const config = parse(configMapFile(objects, writer, c, configFile) ?? '{}') as { exporters?: Record<string, { http?: { endpoint?: string } } | null> };
  const endpoint = collectorEnv(config.exporters?.prometheus_remote_write?.http?.endpoint ?? '', c.env);
  return receiveUrlProblems(objects, "the collector writers' remote write", endpoint);
}

function agentProblems(objects: Objects): string[] {
  const problems: string[] = [];
  const prometheus = workload(objects, 'prometheus');
  const pod = podSpec(prometheus);
  const c = container(objects, 'prometheus');
  const args = c.args ?? [];
  if (!args.includes('--agent')) problems.push('prometheus: --agent missing (the TSDB it would keep is not what Grafana queries any more)');
  if (!onClaim(prometheus, c, flag(args, '--storage.agent.path'))) problems.push('prometheus: --storage.agent.path must be on a PersistentVolumeClaim (the write-ahead log)');
  const configFile = flag(args, '--config.file') ?? '';
  const text = configMapFile(objects, pod, c, configFile);
  if (text === undefined) return [...problems, `prometheus: no ConfigMap mounted provides --config.file ${configFile}`];
  const config = parse(text) as PrometheusConfig;
  if (config.rule_files !== undefined) problems.push('prometheus: an agent evaluates no rule_files (the Ruler does)');
  if (!isDeepStrictEqual(config.scrape_configs, BASE_PROMETHEUS.scrape_configs)) problems.push("prometheus: the agent's scrape_configs must be the base's (prometheus/prometheus.yml)");
  if (!isDeepStrictEqual(config.scrape_config_files, BASE_PROMETHEUS.scrape_config_files)) problems.push("prometheus: the agent's scrape_config_files must be the base's");
  for (const glob of config.scrape_config_files ?? []) {
    const dir = path.posix.resolve(path.posix.dirname(configFile), path.posix.dirname(glob));
    const files = Object.keys(mountedConfigMap(objects, pod, mountAt(c, `${dir}/x`))?.data ?? {}).filter((name) => globRegExp(path.posix.basename(glob)).test(name));
    if (mountAt(c, `${dir}/x`)?.mountPath !== dir || files.length === 0) problems.push(`prometheus: scrape_config_files ${glob}: no mounted file matches (the pull-mode sidecars' job)`);
  }
  problems.push(...remoteWriteProblems(objects, 'prometheus', config));
  return problems;
}

function grafanaProblems(objects: Objects): string[] {
  const problems: string[] = [];
  const pod = podSpec(workload(objects, 'grafana'));
  const c = container(objects, 'grafana');
  const folder = '/etc/grafana/provisioning/datasources';
  const files = Object.entries(mountedConfigMap(objects, pod, mountAt(c, `${folder}/x`))?.data ?? {});
  if (files.length !== 1 || files[0]?.[1] !== thanosDatasourceProvisioning()) problems.push(`grafana: ${folder} must hold the generated ${OVERLAY}/config/datasources/prometheus.yaml alone`);
  const datasources = files.flatMap(([, text]) => (parse(text) as { datasources?: Datasource[] }).datasources ?? []);
  const ours = datasources.find((d) => d.uid === DATASOURCE_UID && d.name === DATASOURCE_NAME);
  if (!ours) return [...problems, `grafana: no datasource with the dashboards' uid ${DATASOURCE_UID} and name ${DATASOURCE_NAME}`];
  problems.push(...reachProblems(objects, 'grafana datasource', ours.url ?? '', 'thanos-query', '--http-address'));
  if (ours.jsonData?.prometheusType !== 'Thanos') problems.push('grafana: datasource jsonData.prometheusType must be Thanos');
  return problems;
}

/** Each Thanos container's args, and the agent's, parsed by the real binary: an unknown flag fails. */
function flagProblems(objects: Objects): string[] {
  const thanos = requireThanos();
  const problems = thanosContainers(objects).flatMap(({ w, c }) => helpProblems(`${id(w)} container ${c.name}`, thanos, c.args ?? []));
  const prometheus = path.join(PROMETHEUS_BIN_DIR, 'prometheus');
  problems.push(...helpProblems('prometheus', prometheus, container(objects, 'prometheus').args ?? []));
  return problems;
}

function rulesCheckProblems(objects: Objects): string[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'genai-thanos-rules-'));
  try {
    return [...ruleFiles(objects)].flatMap(([name, text]) => {
      const file = path.join(dir, name);
      writeFileSync(file, text);
      const result = spawnSync(requireThanos(), ['tools', 'rules-check', `--rules=${file}`], { encoding: 'utf8', timeout: 30_000 });
      return result.status === 0 ? [] : [`thanos tools rules-check ${name}: ${lastLines(result.stderr)}`];
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The agent's config and scrape files laid out as the container sees them, then promtool. */
function promtoolProblems(objects: Objects): string[] {
  const pod = podSpec(workload(objects, 'prometheus'));
  const c = container(objects, 'prometheus');
  const configFile = flag(c.args ?? [], '--config.file') ?? '';
  const configDir = path.posix.dirname(configFile);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'genai-thanos-agent-'));
  try {
    for (const m of c.volumeMounts ?? []) {
      const inside = path.posix.relative(configDir, m.mountPath);
      if (inside.startsWith('..')) continue;
      for (const [name, text] of Object.entries(mountedConfigMap(objects, pod, m)?.data ?? {})) {
        mkdirSync(path.join(dir, inside), { recursive: true });
        writeFileSync(path.join(dir, inside, name), text);
      }
    }
    const result = spawnSync(path.join(PROMETHEUS_BIN_DIR, 'promtool'), ['check', 'config', '--agent', path.join(dir, path.posix.basename(configFile))], { encoding: 'utf8', timeout: 30_000 });
    return result.status === 0 ? [] : [`promtool check config --agent: ${lastLines(`${result.stdout}\n${result.stderr}`)}`];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Navigation

interface PrometheusConfig {
  global?: { scrape_interval?: string; evaluation_interval?: string };
  rule_files?: string[];
  scrape_config_files?: string[];
  scrape_configs?: unknown[];
  remote_write?: Array<{ url: string }>;
}
interface Datasource {
  uid?: string;
  name?: string;
  url?: string;
  jsonData?: Record<string, unknown>;
}

/**
 * The object as the API server decodes it. kustomize wraps a Secret's base64 values every 70
 * characters; the API server's decoder (Go's encoding/base64) skips those newlines, the schema's
 * `byte` format does not.
 */
function asSent(object: KubernetesObject): KubernetesObject {
  if (object.kind !== 'Secret') return object;
  const secret = structuredClone(object) as KubernetesObject & ISecret;
  secret.data = Object.fromEntries(Object.entries(secret.data ?? {}).map(([key, value]) => [key, value.replace(/\n/g, '')]));
  return secret;
}

/** Generated ConfigMap and Secret names carry a content hash; the name kustomize started from. */
function original(object: { kind: string; metadata: { name: string } }): string {
  return ['ConfigMap', 'Secret'].includes(object.kind) ? object.metadata.name.replace(/-[a-z0-9]{10}$/, '') : object.metadata.name;
}

/** The object with the generated names of `objects` (its own or ones it refers to) stripped of their hash. */
function withoutGeneratedNames(object: object, objects: Objects): unknown {
  const generated = new Map(objects.filter((o) => original(o) !== o.metadata.name).map((o) => [o.metadata.name, original(o)]));
  return JSON.parse(JSON.stringify(object), (_key, value: unknown) => (typeof value === 'string' ? (generated.get(value) ?? value) : value));
}

function thanosContainers(objects: Objects): Array<{ w: Workload; c: IContainer }> {
  return workloads(objects).flatMap((w) => podSpec(w).containers.filter((c) => (c.image ?? '').startsWith('quay.io/thanos/')).map((c) => ({ w, c })));
}

/** The workloads in the Service's namespace whose pods it selects. */
function backends(objects: Objects, svc: IService): Workload[] {
  return workloads(objects).filter((w) => w.metadata?.namespace === svc.metadata?.namespace && selects(svc.spec?.selector, w.spec?.template.metadata?.labels ?? {}));
}

/** The port of a listen-address flag (--grpc-address=0.0.0.0:10901 -> 10901). */
function listenPort(c: IContainer, name: string): number | undefined {
  const value = flag(c.args ?? [], name);
  return value === undefined ? undefined : Number(value.split(':').pop());
}

/**
 * A URL used from the namespace reaches Service `expected` on a port whose target is where the
 * pods behind it listen with `listenFlag`.
 */
function reachProblems(objects: Objects, what: string, url: string, expected: string, listenFlag: string): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [`${what}: ${url} is not a URL`];
  }
  const [name = '', namespace = NAMESPACE] = parsed.hostname.split('.');
  if (name !== expected) return [`${what} (${parsed.host}): must point at Service ${expected}`];
  const svc = ofKind<IService>(objects, 'Service').find((s) => s.metadata?.name === name && s.metadata.namespace === namespace);
  if (!svc) return [`${what} (${parsed.host}): no Service ${name} in namespace ${namespace}`];
  const port = Number(parsed.port || 80);
  const exposed = svc.spec?.ports?.find((p) => p.port === port);
  const pods = backends(objects, svc);
  const listening = pods.length > 0 && pods.every((w) => {
    const c = podSpec(w).containers[0] as IContainer;
    return exposed !== undefined && containerPort(c, exposed.targetPort ?? port) === listenPort(c, listenFlag);
  });
  return listening ? [] : [`${what} (${parsed.host}): port ${port} of Service ${name} must lead to its pods' ${listenFlag}`];
}

function receiveUrlProblems(objects: Objects, what: string, url: string): string[] {
  const problems = reachProblems(objects, what, url, 'thanos-receive', '--remote-write.address');
  if (problems.length === 0 && new URL(url).pathname !== RECEIVE_PATH) problems.push(`${what} (${url}): the path must be ${RECEIVE_PATH}`);
  return problems;
}

function remoteWriteProblems(objects: Objects, what: string, config: PrometheusConfig): string[] {
  const targets = config.remote_write ?? [];
  if (targets.length === 0) return [`${what}: no remote_write`];
  return targets.flatMap((target) => receiveUrlProblems(objects, `${what} remote_write`, target.url));
}

/** The Ruler's rule files as it sees them: name -> content, for every mounted file its glob matches. */
function ruleFiles(objects: Objects): Map<string, string> {
  const pod = podSpec(workload(objects, 'thanos-rule'));
  const c = container(objects, 'rule');
  const files = new Map<string, string>();
  for (const glob of (c.args ?? []).filter((arg) => arg.startsWith('--rule-file=')).map((arg) => arg.slice('--rule-file='.length))) {
    const dir = path.posix.dirname(glob);
    const m = mountAt(c, `${dir}/x`);
    if (m?.mountPath !== dir) continue;
    for (const [name, text] of Object.entries(mountedConfigMap(objects, pod, m)?.data ?? {})) {
      if (globRegExp(path.posix.basename(glob)).test(name)) files.set(name, text);
    }
  }
  return files;
}

function globRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
}

/** The path lives on a volume from the StatefulSet's volumeClaimTemplates. */
function onClaim(w: Workload, c: IContainer, file: string | undefined): boolean {
  const claims = ((w as IStatefulSet).spec?.volumeClaimTemplates ?? []).map((claim) => claim.metadata?.name);
  const m = file === undefined ? undefined : mountAt(c, file);
  return w.kind === 'StatefulSet' && m !== undefined && claims.includes(m.name);
}

/** One PodDisruptionBudget with the given bound over the workload's pods, and anti-affinity across nodes. */
function availabilityProblems(objects: Objects, w: Workload, bound: { minAvailable?: number; maxUnavailable?: number }): string[] {
  const problems: string[] = [];
  const labels = w.spec?.template.metadata?.labels ?? {};
  const budgets = ofKind<IPodDisruptionBudget>(objects, 'PodDisruptionBudget').filter((pdb) => pdb.metadata?.namespace === w.metadata?.namespace && selects(pdb.spec?.selector?.matchLabels, labels));
  const matches = budgets.length === 1 && budgets[0]?.spec?.minAvailable === bound.minAvailable && budgets[0]?.spec?.maxUnavailable === bound.maxUnavailable;
  if (!matches) problems.push(`${id(w)}: needs one PodDisruptionBudget with ${JSON.stringify(bound)} selecting its pods`);
  const terms = podSpec(w).affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
  if (!terms.some(({ podAffinityTerm: term }) => term.topologyKey === 'kubernetes.io/hostname' && selects(term.labelSelector?.matchLabels, labels))) {
    problems.push(`${id(w)}: needs pod anti-affinity across nodes (kubernetes.io/hostname) on its own pods`);
  }
  return problems;
}

/** `<binary> <args> --help` exits 0 only when every flag before --help is one it knows. */
function helpProblems(what: string, binary: string, args: string[]): string[] {
  const result = spawnSync(binary, [...args, '--help'], { encoding: 'utf8', timeout: 30_000 });
  return result.status === 0 ? [] : [`${what}: ${binary} rejects its args: ${lastLines(result.stderr)}`];
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ');
}

/** Prometheus-style durations (30s, 1d, 2y) in milliseconds. */
function durationMs(value: string): number {
  const units: Record<string, number> = { ms: 1, s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7, w: 6.048e8, y: 3.1536e10 };
  const match = /^(\d+)(ms|s|m|h|d|w|y)$/.exec(value);
  return match ? Number(match[1]) * (units[match[2] as string] as number) : NaN;
}

// Mutations for the catches table.

function setFlag(c: IContainer, name: string, value: string): void {
  const args = c.args ?? [];
  const index = args.findIndex((arg) => arg.startsWith(`${name}=`));
  if (index < 0) throw new Error(`${c.name} has no ${name}`);
  args[index] = `${name}=${value}`;
}

function removeFlag(c: IContainer, name: string): void {
  c.args = c.args?.filter((arg) => !arg.startsWith(`${name}=`));
}

function setEnv(c: IContainer, name: string, value: string): void {
  c.env = [...(c.env ?? []).filter((e) => e.name !== name), { name, value }];
}

function configMap(objects: Objects, name: string): IConfigMap {
  const found = ofKind<IConfigMap>(objects, 'ConfigMap').find((cm) => original({ kind: 'ConfigMap', metadata: { name: cm.metadata?.name ?? '' } }) === name);
  if (!found) throw new Error(`no ConfigMap ${name}`);
  return found;
}

function editConfigMap(objects: Objects, name: string, key: string, text: string): void {
  const cm = configMap(objects, name);
  cm.data = { ...cm.data, [key]: text };
}

function agentConfig(objects: Objects): string {
  return configMap(objects, 'prometheus-config').data?.['prometheus.yml'] ?? '';
}

function editHashring(objects: Objects, edit: (endpoints: string[]) => string[]): void {
  const cm = configMap(objects, 'thanos-receive-hashring');
  const rings = JSON.parse(cm.data?.['hashring.json'] ?? '[]') as Array<{ endpoints: string[] }>;
  for (const ring of rings) ring.endpoints = edit(ring.endpoints);
  cm.data = { 'hashring.json': JSON.stringify(rings) };
}

function editRuleFile(objects: Objects, edit: (text: string) => string): void {
  const cm = configMap(objects, 'prometheus-rules');
  cm.data = Object.fromEntries(Object.entries(cm.data ?? {}).map(([name, text]) => [name, edit(text)]));
}

function editDatasource(objects: Objects, edit: (text: string) => string): void {
  const cm = configMap(objects, 'grafana-provisioning-datasources');
  cm.data = Object.fromEntries(Object.entries(cm.data ?? {}).map(([name, text]) => [name, edit(text)]));
}
