/**
 * What the injector adds, as chosen by the `inject`/`webhook` flags, and the per-pod version of
 * it once a pod's `genai-sidecar.io/*` annotations have overridden them. Values are checked with
 * the sidecar's own parsers, so an injected pod never carries configuration its sidecar rejects.
 */
import { resolveRunConfig } from '../cli/runFlags';
import { ConfigError } from '../config/errors';
import { resolveRoutes, type Route } from '../config/routes';
import { ANNOTATIONS } from './annotations';
import { InjectError } from './errors';
import { parseQuantity } from './quantity';

export const DEFAULT_IMAGE_REPOSITORY = 'ghcr.io/genai-sidecar/genai-sidecar';
export const DEFAULT_COLLECTOR_ENDPOINT = 'http://otel-collector.genai-observability.svc.cluster.local:4318';

export interface SidecarResources {
  cpuRequest: string;
  cpuLimit: string;
  memoryRequest: string;
  memoryLimit: string;
}

/**
 * Memory sized from `make bench ARGS=--memory` (docs/kubernetes.md, "Sizing the sidecar"): the
 * request covers the working set under steady load, the limit the worst measured phase (eight
 * 50 MiB answers at once, 136 MiB RSS) with about 1.4 times that.
 */
export const DEFAULT_RESOURCES: Readonly<SidecarResources> = { cpuRequest: '50m', cpuLimit: '500m', memoryRequest: '64Mi', memoryLimit: '192Mi' };

/**
 * How the injected sidecar's metrics leave the pod: pushed to the collector (OTLP), scraped by
 * Prometheus from /metrics on the admin port, or both (while moving from one to the other; a
 * Prometheus that gets both would count every call twice).
 */
export const METRICS_MODES = ['push', 'pull', 'both'] as const;
export type MetricsMode = (typeof METRICS_MODES)[number];

export interface InjectOptions {
  image: string;
  /** OTLP/HTTP base URL of the in-cluster collector (the sidecar appends /v1/metrics). */
  collectorEndpoint: string;
  /** `--upstream` specs; empty means the sidecar's own defaults. */
  upstreams: readonly string[];
  /** `header=attribute` specs; empty means none. */
  headerAttributes: readonly string[];
  /** Put the sidecar in `containers` (clusters before 1.29) instead of a native sidecar init container. */
  legacySidecar: boolean;
  metrics: MetricsMode;
  resources: SidecarResources;
  /** Version written into the status annotation. */
  version: string;
}

export function defaultImage(version: string): string {
  return `${DEFAULT_IMAGE_REPOSITORY}:${version}`;
}

export function defaultInjectOptions(version: string): InjectOptions {
  return {
    image: defaultImage(version),
    collectorEndpoint: DEFAULT_COLLECTOR_ENDPOINT,
    upstreams: [],
    headerAttributes: [],
    legacySidecar: false,
    metrics: 'push',
    resources: { ...DEFAULT_RESOURCES },
    version,
  };
}

/** The options after one pod's annotations, with the upstream routes parsed. */
export interface PodSettings extends InjectOptions {
  routes: Route[];
}

/** `origin` names each option's source in error messages (a flag, an env variable). */
export interface OptionOrigins {
  image: string;
  collectorEndpoint: string;
  upstreams: string;
  headerAttributes: string;
  metrics: string;
}

/** Check options that came from flags; throws InjectError naming the flag. */
export function checkInjectOptions(options: InjectOptions, origins: OptionOrigins): void {
  checkImage(options.image, origins.image);
  checkCollectorEndpoint(options.collectorEndpoint, origins.collectorEndpoint);
  parseRoutes(options.upstreams, origins.upstreams);
  checkHeaderAttributes(options.headerAttributes, origins.headerAttributes);
  checkMetricsMode(options.metrics, origins.metrics);
}

export function checkMetricsMode(value: string, origin: string): MetricsMode {
  if (!(METRICS_MODES as readonly string[]).includes(value)) throw new InjectError(`${origin}: "${value}" must be one of ${METRICS_MODES.join(', ')}`);
  return value as MetricsMode;
}

/** Apply a pod's override annotations to the options; throws InjectError naming the annotation. */
export function podSettings(annotations: Readonly<Record<string, string>>, options: InjectOptions): PodSettings {
  const upstreams = listAnnotation(annotations, ANNOTATIONS.upstreams) ?? options.upstreams;
  const headerAttributes = listAnnotation(annotations, ANNOTATIONS.headerAttributes) ?? options.headerAttributes;
  checkHeaderAttributes(headerAttributes, `annotation ${ANNOTATIONS.headerAttributes}`);
  const image = annotations[ANNOTATIONS.image]?.trim() ?? options.image;
  checkImage(image, `annotation ${ANNOTATIONS.image}`);
  const resources: SidecarResources = {
    cpuRequest: annotations[ANNOTATIONS.cpuRequest]?.trim() ?? options.resources.cpuRequest,
    cpuLimit: annotations[ANNOTATIONS.cpuLimit]?.trim() ?? options.resources.cpuLimit,
    memoryRequest: annotations[ANNOTATIONS.memoryRequest]?.trim() ?? options.resources.memoryRequest,
    memoryLimit: annotations[ANNOTATIONS.memoryLimit]?.trim() ?? options.resources.memoryLimit,
  };
  checkResources(resources);
  const metrics = annotations[ANNOTATIONS.metrics] === undefined ? options.metrics : checkMetricsMode(annotations[ANNOTATIONS.metrics].trim(), `annotation ${ANNOTATIONS.metrics}`);
  return {
    ...options,
    image,
    metrics,
    upstreams,
    headerAttributes,
    resources,
    routes: parseRoutes(upstreams, `annotation ${ANNOTATIONS.upstreams}`),
  };
}

/** Comma-separated annotation value, as the sidecar splits its own list variables. */
function listAnnotation(annotations: Readonly<Record<string, string>>, key: string): string[] | undefined {
  const value = annotations[key];
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

function parseRoutes(specs: readonly string[], origin: string): Route[] {
  try {
    return resolveRoutes(specs, origin);
  } catch (error) {
    if (error instanceof ConfigError) throw new InjectError(error.message);
    throw error;
  }
}

/**
 * The sidecar's header-attribute rules live in its flag resolver (not exported on their own), so
 * the list goes through that resolver exactly as the sidecar will receive it.
 */
function checkHeaderAttributes(items: readonly string[], origin: string): void {
  if (items.length === 0) return;
  try {
    resolveRunConfig({ headerAttribute: [...items] }, {}, '0.0.0');
  } catch (error) {
    if (error instanceof ConfigError) throw new InjectError(error.message.replace(/^--header-attribute\b/, origin));
    throw error;
  }
}

function checkImage(image: string, origin: string): void {
  if (!/^\S+$/.test(image)) throw new InjectError(`${origin}: "${image}" is not an image reference`);
}

function checkCollectorEndpoint(endpoint: string, origin: string): void {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new InjectError(`${origin}: "${endpoint}" is not an absolute URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InjectError(`${origin}: "${endpoint}" must be an http or https URL (OTLP/HTTP)`);
  }
}

const RESOURCE_ORIGIN: Readonly<Record<keyof SidecarResources, string>> = {
  cpuRequest: ANNOTATIONS.cpuRequest,
  cpuLimit: ANNOTATIONS.cpuLimit,
  memoryRequest: ANNOTATIONS.memoryRequest,
  memoryLimit: ANNOTATIONS.memoryLimit,
};

function checkResources(resources: SidecarResources): void {
  const value = (key: keyof SidecarResources): number => {
    const parsed = parseQuantity(resources[key]);
    if (parsed === undefined) {
      throw new InjectError(`annotation ${RESOURCE_ORIGIN[key]}: "${resources[key]}" is not a Kubernetes quantity such as 100m or 128Mi`);
    }
    return parsed;
  };
  for (const [request, limit] of [
    ['cpuRequest', 'cpuLimit'],
    ['memoryRequest', 'memoryLimit'],
  ] as const) {
    if (value(request) > value(limit)) {
      throw new InjectError(
        `annotation ${RESOURCE_ORIGIN[request]}: "${resources[request]}" is above the limit "${resources[limit]}" (set ${RESOURCE_ORIGIN[limit]} too)`,
      );
    }
  }
}
