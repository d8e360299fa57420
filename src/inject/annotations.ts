/**
 * The `genai-sidecar.io/` annotations a pod template may carry. Users set the per-pod ones; the
 * injector sets `status`. One table so help, validation and docs never disagree.
 */
export const ANNOTATION_PREFIX = 'genai-sidecar.io/';

export const ANNOTATIONS = {
  /** `"false"` leaves the pod alone; `"true"` (or absent) lets it be injected. */
  inject: `${ANNOTATION_PREFIX}inject`,
  /** Set by the injector (`injected; version=<v>`); its presence makes injection idempotent. */
  status: `${ANNOTATION_PREFIX}status`,
  /** Comma-separated `<route>[:<provider>]=<url>` list, replacing the injector's `--upstream`s. */
  upstreams: `${ANNOTATION_PREFIX}upstreams`,
  /** Comma-separated `header=attribute` list, replacing the injector's `--header-attribute`s. */
  headerAttributes: `${ANNOTATION_PREFIX}header-attributes`,
  cpuRequest: `${ANNOTATION_PREFIX}cpu-request`,
  cpuLimit: `${ANNOTATION_PREFIX}cpu-limit`,
  memoryRequest: `${ANNOTATION_PREFIX}memory-request`,
  memoryLimit: `${ANNOTATION_PREFIX}memory-limit`,
  /** Sidecar image for this pod, replacing `--image`. */
  image: `${ANNOTATION_PREFIX}image`,
  /** `push`, `pull` or `both` for this pod, replacing `--metrics`. */
  metrics: `${ANNOTATION_PREFIX}metrics`,
} as const;

const KNOWN = new Set<string>(Object.values(ANNOTATIONS));

/**
 * What `--metrics pull` (or `both`) puts on the pod template so a Prometheus finds /metrics: the
 * annotations of the common annotation-based scrape config, and the label the shipped scrape job
 * selects on (prometheus/kubernetes/sidecars.yml, loaded by k8s/prometheus).
 */
export const SCRAPE_ANNOTATIONS = { scrape: 'prometheus.io/scrape', port: 'prometheus.io/port', path: 'prometheus.io/path' } as const;
export const SCRAPE_LABEL = `${ANNOTATION_PREFIX}scrape`;

/** Keys under our prefix that we do not know: almost always a typo the user wants to hear about. */
export function unknownAnnotations(annotations: Readonly<Record<string, string>>): string[] {
  return Object.keys(annotations).filter((key) => key.startsWith(ANNOTATION_PREFIX) && !KNOWN.has(key));
}

export function statusValue(version: string): string {
  return `injected; version=${version}`;
}
