/**
 * Where pod templates live in each workload kind, and which workload a bare Pod (as the webhook
 * sees it) belongs to.
 */
import { isObject, type JsonObject } from './json';
import type { Workload } from './sidecarContainer';

export type Path = ReadonlyArray<string | number>;

/** API group (`''` for core) and the path of the pod template inside the object. */
const TEMPLATE_PATHS: Readonly<Record<string, { group: string; path: Path }>> = {
  Pod: { group: '', path: [] },
  Deployment: { group: 'apps', path: ['spec', 'template'] },
  StatefulSet: { group: 'apps', path: ['spec', 'template'] },
  DaemonSet: { group: 'apps', path: ['spec', 'template'] },
  ReplicaSet: { group: 'apps', path: ['spec', 'template'] },
  Job: { group: 'batch', path: ['spec', 'template'] },
  CronJob: { group: 'batch', path: ['spec', 'jobTemplate', 'spec', 'template'] },
};

export interface TemplateLocation {
  /** Path of the template inside the document; `[]` for a Pod, whose metadata and spec are the template. */
  path: Path;
  workload: Workload;
  /** `Kind/name` for messages. */
  ref: string;
}

/** Pod templates of a parsed document; a `kind: List` contributes those of its items. */
export function podTemplateLocations(document: unknown, prefix: Path = []): TemplateLocation[] {
  if (!isObject(document)) return [];
  if (document.kind === 'List' && Array.isArray(document.items)) {
    return document.items.flatMap((item, index) => podTemplateLocations(item, [...prefix, 'items', index]));
  }
  const kind = typeof document.kind === 'string' ? document.kind : '';
  const known = TEMPLATE_PATHS[kind];
  if (!known || apiGroup(document.apiVersion) !== known.group) return [];
  const metadata = isObject(document.metadata) ? document.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : stripGenerateName(metadata.generateName);
  return [{ path: [...prefix, ...known.path], workload: { kind, name }, ref: `${kind}/${name ?? '(unnamed)'}` }];
}

function apiGroup(apiVersion: unknown): string | undefined {
  if (typeof apiVersion !== 'string') return undefined;
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/**
 * The workload of a pod at admission time, from its controller's ownerReference. Controllers
 * name their pods' owners predictably: a Deployment's ReplicaSet is `<deployment>-<pod-template-hash>`,
 * a CronJob's Job is `<cronjob>-<scheduled time in minutes>`. A pod without an owner is its own workload.
 */
export function workloadOfPod(metadata: JsonObject | undefined): Workload {
  const meta = metadata ?? {};
  const owners = Array.isArray(meta.ownerReferences) ? meta.ownerReferences.filter(isObject) : [];
  const owner = owners.find((candidate) => candidate.controller === true) ?? owners[0];
  if (owner === undefined || typeof owner.kind !== 'string' || typeof owner.name !== 'string') {
    return { kind: 'Pod', name: typeof meta.name === 'string' ? meta.name : stripGenerateName(meta.generateName) };
  }
  const labels = isObject(meta.labels) ? meta.labels : {};
  const hash = labels['pod-template-hash'];
  if (owner.kind === 'ReplicaSet' && typeof hash === 'string' && hash !== '' && owner.name.endsWith(`-${hash}`)) {
    return { kind: 'Deployment', name: owner.name.slice(0, -hash.length - 1) };
  }
  // The CronJob controller appends the scheduled time in minutes since the epoch (8 digits until 2160).
  const cronJob = owner.kind === 'Job' ? /^(.+)-(\d{8,})$/.exec(owner.name) : null;
  if (cronJob?.[1] !== undefined) return { kind: 'CronJob', name: cronJob[1] };
  return { kind: owner.kind, name: owner.name };
}

/** `web-` from a generateName; undefined when there is nothing left. */
function stripGenerateName(generateName: unknown): string | undefined {
  if (typeof generateName !== 'string') return undefined;
  const name = generateName.replace(/-+$/, '');
  return name === '' ? undefined : name;
}
