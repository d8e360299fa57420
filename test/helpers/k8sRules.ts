/**
 * Rules and navigation shared by the tests of k8s/ (test/unit/k8sManifests.test.ts, the base) and
 * k8s/overlays/thanos (test/unit/k8sThanos.test.ts): hardening every container must meet, and
 * the helpers that find a workload, a container, a Service or the ConfigMap file a container
 * sees at a path, and check that a URL reaches a listening pod.
 */
import path from 'node:path';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { parse, stringify } from 'yaml';
import type { KubernetesObject } from './kubectl';

export type Objects = KubernetesObject[];
export type Workload = IDeployment | IStatefulSet;
export type VolumeMount = NonNullable<IContainer['volumeMounts']>[number];

/**
 * A collector config value with its `${env:NAME:-default}` references resolved from the
 * container's env as otelcol-genai resolves them: only an unset variable takes the default (an
 * empty one stays empty, and the collector refuses the config).
 */
export function collectorEnv(value: string, env: IContainer['env']): string {
  return value.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_whole, name: string, fallback: string | undefined) => {
    const set = env?.find((e) => e.name === name);
    return set !== undefined ? (set.value ?? '') : (fallback ?? '');
  });
}

export function hardeningProblems(objects: Objects): string[] {
  return workloads(objects).flatMap((w) => {
    const pod = podSpec(w);
    const where = id(w);
    const problems: string[] = [];
    // Prometheus alone reads the API (pods, to find pull-mode sidecars); k8sManifests.test.ts checks how little it may.
    const readsApi = w.metadata?.name === 'prometheus';
    if (!readsApi && pod.automountServiceAccountToken !== false) problems.push(`${where}: automountServiceAccountToken must be false (nothing here calls the API)`);
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

export function id(object: { kind: string; metadata?: { name?: string; namespace?: string } }): string {
  return `${object.kind} ${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

export function ofKind<T>(objects: Objects, kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as unknown as T[];
}

export function workloads(objects: Objects): Workload[] {
  return objects.filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind)) as unknown as Workload[];
}

export function workload(objects: Objects, name: string): Workload {
  const found = workloads(objects).find((w) => w.metadata?.name === name);
  if (!found) throw new Error(`no workload ${name}`);
  return found;
}

export function podSpec(w: Workload): IPodSpec {
  const spec = w.spec?.template.spec;
  if (!spec) throw new Error(`${w.metadata?.name ?? ''} has no pod spec`);
  return spec;
}

/** The container named `name` in any workload. */
export function container(objects: Objects, name: string): IContainer {
  const found = workloads(objects).flatMap((w) => podSpec(w).containers).find((c) => c.name === name);
  if (!found) throw new Error(`no container ${name}`);
  return found;
}

export function mount(objects: Objects, containerName: string, volume: string): VolumeMount {
  const found = container(objects, containerName).volumeMounts?.find((m) => m.name === volume);
  if (!found) throw new Error(`container ${containerName} mounts no ${volume}`);
  return found;
}

export function service(objects: Objects, name: string): IService {
  const found = ofKind<IService>(objects, 'Service').find((s) => s.metadata?.name === name);
  if (!found) throw new Error(`no Service ${name}`);
  return found;
}

/** The mount a path lives under (the deepest mountPath that contains it). */
export function mountAt(c: IContainer, file: string): VolumeMount | undefined {
  return (c.volumeMounts ?? [])
    .filter((m) => file === m.mountPath || file.startsWith(`${m.mountPath.replace(/\/$/, '')}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
}

export function mountedConfigMap(objects: Objects, pod: IPodSpec, m: VolumeMount | undefined): IConfigMap | undefined {
  const name = pod.volumes?.find((v) => v.name === m?.name)?.configMap?.name;
  return ofKind<IConfigMap>(objects, 'ConfigMap').find((cm) => cm.metadata?.name === name);
}

/** Content of `file` as the container sees it, when a ConfigMap volume provides it. */
export function configMapFile(objects: Objects, pod: IPodSpec, c: IContainer, file: string): string | undefined {
  const m = mountAt(c, file);
  if (!m || path.posix.dirname(file) !== m.mountPath.replace(/\/$/, '')) return undefined;
  return mountedConfigMap(objects, pod, m)?.data?.[path.posix.basename(file)];
}

export function containerPort(c: IContainer, port: number | string): number | undefined {
  return typeof port === 'number' ? port : c.ports?.find((p) => p.name === port)?.containerPort;
}

export function flag(args: string[], name: string): string | undefined {
  return args.find((arg) => arg.startsWith(`${name}=`))?.slice(name.length + 1);
}

export function selects(matchLabels: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  return matchLabels !== undefined && Object.entries(matchLabels).every(([key, value]) => labels[key] === value);
}

/** Rewrites one file of whichever rendered ConfigMap holds it. */
export function editConfigMapFile<T>(objects: Objects, key: string, edit: (document: T) => void): void {
  const configMap = ofKind<IConfigMap>(objects, 'ConfigMap').find((cm) => cm.data?.[key] !== undefined);
  if (!configMap?.data) throw new Error(`no ConfigMap holds ${key}`);
  const document = parse(configMap.data[key] ?? '') as T;
  edit(document);
  configMap.data[key] = stringify(document);
}

/**
 * A URL used from `namespace` must reach a Service of the manifests (short, namespaced or fully
 * qualified name) on a port it exposes, and that Service must select a pod whose container
 * listens there.
 */
export function urlProblems(objects: Objects, url: string, what: string, namespace: string, expectedService?: string): string[] {
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

export function removeArg(c: IContainer, arg: string): void {
  c.args = c.args?.filter((each) => each !== arg);
}
