/**
 * The `genai-sidecar` container as injected: configured only through the environment variables
 * `genai-sidecar run` reads (names taken from RUN_FLAGS), hardened, probed on its admin port.
 */
import { RUN_FLAGS } from '../cli/runFlags';
import { RESOURCE_ATTR } from '../telemetry/names';
import type { PodSettings } from './options';

export const SIDECAR_NAME = 'genai-sidecar';
/** Loopback address the app's SDKs are pointed at. */
export const PROXY_HOST = '127.0.0.1';
export const PROXY_PORT = 8787;
/** Kubelet probes come from the node, so the admin port (health only, no data) listens on all interfaces. */
export const ADMIN_PORT = 8788;
export const ADMIN_PORT_NAME = 'genai-admin';
/** The image's non-root user (distroless `nonroot`). */
const NONROOT_ID = 65532;

/** The workload a pod belongs to, as it appears in `k8s.workload.*` resource attributes. */
export interface Workload {
  kind: string;
  /** Unknown for a bare pod that only has a generateName nobody filled in. */
  name?: string;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef: { fieldPath: string } };
}

interface HttpProbe {
  httpGet: { path: string; port: string };
  periodSeconds: number;
  timeoutSeconds?: number;
  failureThreshold: number;
}

export interface SidecarContainer {
  name: string;
  image: string;
  args: string[];
  env: EnvVar[];
  ports: Array<{ name: string; containerPort: number; protocol: 'TCP' }>;
  /** `Always` makes an init container a native sidecar (Kubernetes 1.29+). */
  restartPolicy?: 'Always';
  startupProbe: HttpProbe;
  livenessProbe: HttpProbe;
  readinessProbe: HttpProbe;
  resources: { requests: { cpu: string; memory: string }; limits: { cpu: string; memory: string } };
  securityContext: {
    runAsNonRoot: true;
    runAsUser: number;
    runAsGroup: number;
    readOnlyRootFilesystem: true;
    allowPrivilegeEscalation: false;
    capabilities: { drop: ['ALL'] };
    seccompProfile: { type: 'RuntimeDefault' };
  };
}

/** The variable `genai-sidecar run` reads for a flag; fails at load time if RUN_FLAGS renamed it. */
function runEnv(key: string, name?: string): string {
  const flag = RUN_FLAGS.find((candidate) => candidate.key === key);
  const env = name ?? flag?.env[0];
  if (!flag || env === undefined || !flag.env.includes(env)) throw new Error(`genai-sidecar run has no flag "${key}" read from ${name ?? 'an env variable'}`);
  return env;
}

export const SIDECAR_ENV = {
  listen: runEnv('listen'),
  adminListen: runEnv('adminListen'),
  upstreams: runEnv('upstream'),
  headerAttributes: runEnv('headerAttribute'),
  // The generic variable is a base URL (the sidecar appends /v1/metrics); the metrics-specific one is not.
  otlpEndpoint: runEnv('otlpEndpoint', 'OTEL_EXPORTER_OTLP_ENDPOINT'),
  serviceName: runEnv('serviceName'),
  resourceAttributes: runEnv('resourceAttribute'),
  metricsExporter: runEnv('metricsExporter'),
} as const;

/** OTEL_METRICS_EXPORTER for each inject --metrics mode. */
const EXPORTERS: Readonly<Record<PodSettings['metrics'], string>> = { push: 'otlp', pull: 'prometheus', both: 'otlp,prometheus' };

/** Downward-API variables, referenced as $(NAME) in OTEL_RESOURCE_ATTRIBUTES (so they come first). */
const DOWNWARD_API: ReadonlyArray<[string, string]> = [
  ['POD_NAME', 'metadata.name'],
  ['POD_NAMESPACE', 'metadata.namespace'],
  ['POD_UID', 'metadata.uid'],
];

export function resourceAttributes(workload: Workload): string {
  const pairs: Array<[string, string]> = [
    [RESOURCE_ATTR.pod, '$(POD_NAME)'],
    [RESOURCE_ATTR.namespace, '$(POD_NAMESPACE)'],
    ['k8s.pod.uid', '$(POD_UID)'],
    // The pod UID is unique per pod and stable across sidecar restarts, unlike a random id.
    [RESOURCE_ATTR.serviceInstanceId, '$(POD_UID)'],
  ];
  if (workload.name) pairs.push(['k8s.workload.name', encodeURIComponent(workload.name)]);
  pairs.push(['k8s.workload.kind', encodeURIComponent(workload.kind)]);
  return pairs.map(([key, value]) => `${key}=${value}`).join(',');
}

export function buildSidecarContainer(settings: PodSettings, workload: Workload): SidecarContainer {
  const env: EnvVar[] = DOWNWARD_API.map(([name, fieldPath]) => ({ name, valueFrom: { fieldRef: { fieldPath } } }));
  env.push({ name: SIDECAR_ENV.listen, value: `${PROXY_HOST}:${PROXY_PORT}` });
  env.push({ name: SIDECAR_ENV.adminListen, value: `0.0.0.0:${ADMIN_PORT}` });
  if (settings.upstreams.length > 0) env.push({ name: SIDECAR_ENV.upstreams, value: settings.upstreams.join(',') });
  if (settings.headerAttributes.length > 0) env.push({ name: SIDECAR_ENV.headerAttributes, value: settings.headerAttributes.join(',') });
  env.push({ name: SIDECAR_ENV.metricsExporter, value: EXPORTERS[settings.metrics] });
  if (settings.metrics !== 'pull') env.push({ name: SIDECAR_ENV.otlpEndpoint, value: settings.collectorEndpoint });
  env.push({ name: SIDECAR_ENV.serviceName, value: SIDECAR_NAME });
  env.push({ name: SIDECAR_ENV.resourceAttributes, value: resourceAttributes(workload) });

  const probe = (path: string, periodSeconds: number, failureThreshold: number): HttpProbe => ({
    httpGet: { path, port: ADMIN_PORT_NAME },
    periodSeconds,
    failureThreshold,
  });
  return {
    name: SIDECAR_NAME,
    image: settings.image,
    args: ['run'],
    env,
    ports: [{ name: ADMIN_PORT_NAME, containerPort: ADMIN_PORT, protocol: 'TCP' }],
    ...(settings.legacySidecar ? {} : { restartPolicy: 'Always' as const }),
    // A native sidecar's startup probe holds the app containers back until the proxy is ready.
    startupProbe: { ...probe('/readyz', 1, 30), timeoutSeconds: 1 },
    livenessProbe: probe('/healthz', 10, 3),
    readinessProbe: probe('/readyz', 5, 3),
    resources: {
      requests: { cpu: settings.resources.cpuRequest, memory: settings.resources.memoryRequest },
      limits: { cpu: settings.resources.cpuLimit, memory: settings.resources.memoryLimit },
    },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: NONROOT_ID,
      runAsGroup: NONROOT_ID,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
  };
}
