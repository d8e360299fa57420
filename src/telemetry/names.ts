/**
 * The one place for metric names, units, bucket boundaries and attribute keys.
 *
 * Spec: OpenTelemetry GenAI semantic conventions, client metrics (v1.41 names)
 * https://github.com/open-telemetry/semantic-conventions/blob/main/docs/gen-ai/gen-ai-metrics.md
 * Names outside the spec carry the project prefix `genai_sidecar.`.
 */

/** Spec boundaries for `gen_ai.client.token.usage` (powers of 4 from 1 to 4^13). */
export const TOKEN_BUCKETS: readonly number[] = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];

/** Spec boundaries for the duration-like histograms (0.01 s doubling to 81.92 s). */
export const DURATION_BUCKETS: readonly number[] = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

export type InstrumentKind = 'histogram' | 'counter' | 'gauge';

export interface MetricDefinition {
  readonly name: string;
  readonly kind: InstrumentKind;
  readonly unit: string;
  readonly description: string;
  readonly buckets?: readonly number[];
  /** Where this name comes from: the spec, or this project. */
  readonly origin: 'semconv' | 'genai_sidecar';
}

export const METRICS = {
  tokenUsage: {
    name: 'gen_ai.client.token.usage',
    kind: 'histogram',
    unit: '{token}',
    description: 'Number of input and output tokens used, as reported by the provider.',
    buckets: TOKEN_BUCKETS,
    origin: 'semconv',
  },
  operationDuration: {
    name: 'gen_ai.client.operation.duration',
    kind: 'histogram',
    unit: 's',
    description: 'GenAI operation duration, from the sidecar receiving the request to the last response byte.',
    buckets: DURATION_BUCKETS,
    origin: 'semconv',
  },
  timeToFirstChunk: {
    name: 'gen_ai.client.operation.time_to_first_chunk',
    kind: 'histogram',
    unit: 's',
    description: 'Time from the sidecar receiving a streaming request to the first content chunk of the response.',
    buckets: DURATION_BUCKETS,
    origin: 'semconv',
  },
  timePerOutputChunk: {
    name: 'gen_ai.client.operation.time_per_output_chunk',
    kind: 'histogram',
    unit: 's',
    description: 'Time between the end of the previous output chunk and the end of the current one, for chunks after the first.',
    buckets: DURATION_BUCKETS,
    origin: 'semconv',
  },
  tokenDetail: {
    name: 'genai_sidecar.client.token.detail',
    kind: 'counter',
    unit: '{token}',
    description: 'Cache-read, cache-write and reasoning tokens (already included in the input/output token usage).',
    origin: 'genai_sidecar',
  },
  cost: {
    name: 'genai_sidecar.client.cost.usd',
    kind: 'counter',
    unit: '{USD}',
    description: 'Estimated cost of the calls in US dollars, from the price table.',
    origin: 'genai_sidecar',
  },
  rateLimitRemaining: {
    name: 'genai_sidecar.ratelimit.remaining',
    kind: 'gauge',
    unit: '{1}',
    description: 'Requests or tokens left in the current provider rate-limit window (last value seen).',
    origin: 'genai_sidecar',
  },
  rateLimitLimit: {
    name: 'genai_sidecar.ratelimit.limit',
    kind: 'gauge',
    unit: '{1}',
    description: 'Size of the provider rate-limit window (last value seen).',
    origin: 'genai_sidecar',
  },
  rateLimitResetSeconds: {
    name: 'genai_sidecar.ratelimit.reset',
    kind: 'gauge',
    unit: 's',
    description: 'Seconds until the provider rate-limit window resets (last value seen).',
    origin: 'genai_sidecar',
  },
  telemetryErrors: {
    name: 'genai_sidecar.telemetry.errors',
    kind: 'counter',
    unit: '{error}',
    description: 'Telemetry failures that did not affect traffic (parse, price lookup, export), by stage.',
    origin: 'genai_sidecar',
  },
} as const satisfies Record<string, MetricDefinition>;

export type MetricKey = keyof typeof METRICS;

/** Attribute keys. Spec keys first, then the project's own. */
export const ATTR = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  tokenType: 'gen_ai.token.type',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  errorType: 'error.type',
  httpStatusCode: 'http.response.status_code',
  tokenDetailType: 'genai_sidecar.token.type',
  rateLimitResource: 'genai_sidecar.ratelimit.resource',
  telemetryStage: 'genai_sidecar.telemetry.stage',
} as const;

/** Values of `gen_ai.token.type` (spec) and `genai_sidecar.token.type` (project). */
export const TOKEN_TYPE = { input: 'input', output: 'output' } as const;
export const TOKEN_DETAIL_TYPE = { cacheRead: 'cache_read', cacheWrite: 'cache_write', reasoning: 'reasoning' } as const;

/** Low-cardinality `error.type` values the sidecar itself produces. */
export const ERROR_TYPE = {
  timeout: 'timeout',
  connectionError: 'connection_error',
  cancelled: 'cancelled',
  other: '_OTHER',
} as const;

/** Replacement value once an attribute has used up its distinct-value budget. */
export const OVERFLOW_VALUE = '_OTHER';

/** Meter name and the resource attribute keys the sidecar sets. */
export const METER_NAME = 'genai-sidecar';
export const RESOURCE_ATTR = {
  serviceName: 'service.name',
  serviceInstanceId: 'service.instance.id',
  serviceVersion: 'service.version',
  namespace: 'k8s.namespace.name',
  pod: 'k8s.pod.name',
} as const;
