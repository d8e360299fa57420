/**
 * The one injection function. `inject` (YAML) and `webhook` (JSONPatch) both call it and only
 * translate its result, so the two can never disagree. Pure: the input is never modified.
 */
import { ANNOTATION_PREFIX, ANNOTATIONS, SCRAPE_ANNOTATIONS, SCRAPE_LABEL, statusValue, unknownAnnotations } from './annotations';
import { InjectError } from './errors';
import { isObject, type JsonObject } from './json';
import { podSettings, type InjectOptions } from './options';
import { sdkVariables, type SdkVariable } from './sdkEnv';
import { ADMIN_PORT, PROXY_PORT, SIDECAR_NAME, buildSidecarContainer, type Workload } from './sidecarContainer';

/** A pod template (`spec.template` of a workload) or a Pod's own metadata and spec. */
export interface PodTemplate {
  metadata?: JsonObject;
  spec?: JsonObject;
}

export interface InjectResult {
  changed: boolean;
  /** The injected template, or the input itself when unchanged. */
  template: PodTemplate;
  /** Why a pod was left alone, or what the user should know about the injected one. */
  warnings: string[];
}

/** The template of a Pod or of a workload's `spec.template`: its metadata and spec (absent when not maps). */
export function templateOf(holder: JsonObject): PodTemplate {
  const template: PodTemplate = {};
  if (isObject(holder.metadata)) template.metadata = holder.metadata;
  if (isObject(holder.spec)) template.spec = holder.spec;
  return template;
}

export function injectPodTemplate(template: PodTemplate, workload: Workload, options: InjectOptions): InjectResult {
  const annotations = ourAnnotations(template.metadata);
  const warnings = unknownAnnotations(annotations).map((key) => `ignored unknown annotation ${key}`);
  const skip = skipReason(template, annotations);
  if (skip !== undefined) return { changed: false, template, warnings: skip ? [...warnings, skip] : warnings };

  if (!isObject(template.spec)) throw new InjectError('the pod template has no spec');
  const settings = podSettings(annotations, options);
  const next = structuredClone(template) as PodTemplate & { spec: JsonObject };
  const containers = containerList(next.spec, 'containers');
  const initContainers = containerList(next.spec, 'initContainers');
  if (containers.length === 0) throw new InjectError('the pod template has no spec.containers');
  warnings.push(...portClashes([...initContainers, ...containers]));

  const sdk = sdkVariables(settings.routes);
  warnings.push(...sdk.warnings);
  // Only the app's regular containers: init containers run before (or without) the proxy.
  for (const container of containers) warnings.push(...pointAtSidecar(container, sdk.variables));

  const sidecar: JsonObject = { ...buildSidecarContainer(settings, workload) };
  if (settings.legacySidecar) {
    const restartPolicy = next.spec.restartPolicy;
    if (restartPolicy === 'Never' || restartPolicy === 'OnFailure') {
      warnings.push(`with a legacy sidecar this pod (restartPolicy ${restartPolicy}) never completes because the sidecar keeps running; use a native sidecar (Kubernetes 1.29+)`);
    }
    next.spec.containers = [...containers, sidecar];
  } else {
    next.spec.initContainers = [...initContainers, sidecar];
  }

  const metadata = (next.metadata ??= {});
  metadata.annotations = { ...objectAt(metadata, 'annotations', 'metadata.annotations'), [ANNOTATIONS.status]: statusValue(options.version) };
  if (settings.metrics !== 'push') warnings.push(...markForScraping(metadata));
  return { changed: true, template: next, warnings };
}

/**
 * The scrape annotations and label. A pod whose own metrics already use the prometheus.io
 * annotations keeps them (one port per pod): its sidecar is then found by the label, which the
 * shipped scrape job (prometheus/kubernetes/sidecars.yml) selects on anyway.
 */
function markForScraping(metadata: JsonObject): string[] {
  const annotations = objectAt(metadata, 'annotations', 'metadata.annotations');
  metadata.labels = { ...objectAt(metadata, 'labels', 'metadata.labels'), [SCRAPE_LABEL]: 'true' };
  const own = annotations[SCRAPE_ANNOTATIONS.port] ?? annotations[SCRAPE_ANNOTATIONS.path];
  if (own !== undefined && (annotations[SCRAPE_ANNOTATIONS.port] !== String(ADMIN_PORT) || (annotations[SCRAPE_ANNOTATIONS.path] ?? '/metrics') !== '/metrics')) {
    return [`the pod's prometheus.io annotations point at its own metrics; kept, so annotation-based discovery does not find the sidecar's /metrics (the genai-sidecar job of k8s/prometheus finds it by the ${SCRAPE_LABEL} label)`];
  }
  metadata.annotations = { ...annotations, [SCRAPE_ANNOTATIONS.scrape]: 'true', [SCRAPE_ANNOTATIONS.port]: String(ADMIN_PORT), [SCRAPE_ANNOTATIONS.path]: '/metrics' };
  return [];
}

/**
 * undefined: inject. A string: leave the pod alone and tell the user why. An empty string:
 * leave it alone silently (already injected, the normal case when injecting twice).
 */
function skipReason(template: PodTemplate, annotations: Readonly<Record<string, string>>): string | undefined {
  const optIn = annotations[ANNOTATIONS.inject];
  if (optIn !== undefined && optIn !== 'true' && optIn !== 'false') {
    throw new InjectError(`annotation ${ANNOTATIONS.inject}: "${optIn}" must be "true" or "false"`);
  }
  if (optIn === 'false') return `opted out with ${ANNOTATIONS.inject}: "false"; left unchanged`;
  const spec = template.spec;
  const hasSidecar = spec !== undefined && ['containers', 'initContainers'].some((key) => containerList(spec, key).some((c) => c.name === SIDECAR_NAME));
  if (annotations[ANNOTATIONS.status] !== undefined) {
    return hasSidecar ? '' : `has ${ANNOTATIONS.status} but no ${SIDECAR_NAME} container; left unchanged (remove the annotation to inject again)`;
  }
  if (hasSidecar) return `already has a container named ${SIDECAR_NAME}; left unchanged`;
  if (spec?.hostNetwork === true) {
    return `uses hostNetwork, so the sidecar's ports ${PROXY_PORT} and ${ADMIN_PORT} would be the node's and clash between pods; left unchanged`;
  }
  return undefined;
}

/** Adds the SDK variables a container does not set itself; never overwrites one it does. */
function pointAtSidecar(container: JsonObject, variables: readonly SdkVariable[]): string[] {
  const name = String(container.name);
  const env = arrayAt(container, 'env', `container "${name}" env`);
  const warnings: string[] = [];
  const added: SdkVariable[] = [];
  for (const variable of variables) {
    const own = env.find((entry) => isObject(entry) && entry.name === variable.name) as JsonObject | undefined;
    if (own === undefined) added.push(variable);
    else if (own.value !== variable.value) warnings.push(`container "${name}" sets ${variable.name} itself; kept (calls bypass the sidecar unless it is ${variable.value})`);
  }
  if (added.length === 0) return warnings;
  container.env = [...env, ...added.map(({ name: key, value }) => ({ name: key, value }))];
  if (arrayAt(container, 'envFrom', `container "${name}" envFrom`).length > 0) {
    // Values from envFrom are invisible here, and an explicit env entry wins over them.
    warnings.push(`container "${name}" uses envFrom; an SDK base-URL variable set there is overridden by the injected one`);
  }
  return warnings;
}

function portClashes(containers: readonly JsonObject[]): string[] {
  return containers.flatMap((container) =>
    arrayAt(container, 'ports', `container "${String(container.name)}" ports`)
      .filter((port) => isObject(port) && (port.containerPort === PROXY_PORT || port.containerPort === ADMIN_PORT))
      .map((port) => `container "${String(container.name)}" declares port ${String((port as JsonObject).containerPort)}, which the sidecar listens on`),
  );
}

/** Our annotations as strings; Kubernetes only allows string values, so anything else is an error. */
function ourAnnotations(metadata: JsonObject | undefined): Record<string, string> {
  const all = metadata === undefined ? {} : objectAt(metadata, 'annotations', 'metadata.annotations');
  const ours: Record<string, string> = {};
  for (const [key, value] of Object.entries(all)) {
    if (!key.startsWith(ANNOTATION_PREFIX)) continue;
    if (typeof value !== 'string') throw new InjectError(`annotation ${key}: the value must be a string; quote it, e.g. "${String(value)}"`);
    ours[key] = value;
  }
  return ours;
}

function containerList(spec: JsonObject, key: string): JsonObject[] {
  const list = arrayAt(spec, key, `spec.${key}`);
  for (const item of list) {
    if (!isObject(item) || typeof item.name !== 'string') throw new InjectError(`spec.${key} must be a list of containers with names`);
  }
  return list as JsonObject[];
}

function arrayAt(parent: JsonObject, key: string, what: string): unknown[] {
  const value = parent[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new InjectError(`${what} must be a list`);
  return value;
}

function objectAt(parent: JsonObject, key: string, what: string): JsonObject {
  const value = parent[key];
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw new InjectError(`${what} must be a map`);
  return value;
}
