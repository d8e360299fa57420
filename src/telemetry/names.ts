/**
 * The one place for metric names, units, bucket boundaries and attribute keys.
 *
 * Two sets of GenAI client metrics (SEMCONV below): by default the OpenTelemetry semantic
 * conventions v1.41.0 (`METRICS`, docs/gen-ai/gen-ai-metrics.md), and with
 * OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental the newer client inference metrics of
 * the GenAI conventions' own repository (`LATEST_METRICS`). Names outside the conventions carry
 * the project prefix `genai_sidecar.` and are the same in both sets.
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

/** Where each set of GenAI client metrics is defined, and how a user picks the newer one. */
export const SEMCONV = {
  /** The default set. */
  v1_41: 'OpenTelemetry semantic conventions v1.41.0 (open-telemetry/semantic-conventions, model/gen-ai/metrics.yaml)',
  /**
   * The opt-in set. The release tag (v0.1.0) could not be read where this was written; these are
   * the definitions at the commit below, the newest state of model/gen-ai/metrics.yaml and
   * token-metrics.yaml that could be read, which has the names the release announces.
   */
  latest: 'OpenTelemetry GenAI semantic conventions (open-telemetry/semantic-conventions-genai) at 066d4a7f356f8600de6f10c42874626ab88692fb, model/gen-ai/metrics.yaml and token-metrics.yaml',
  optInVariable: 'OTEL_SEMCONV_STABILITY_OPT_IN',
  /** The value that selects the newer set, as the conventions' stability plan names it. */
  optInValue: 'gen_ai_latest_experimental',
} as const;

export type SemconvSet = 'v1_41' | 'latest';

/**
 * The newer GenAI client metrics (SEMCONV.latest), emitted instead of METRICS' four spec metrics
 * and `genai_sidecar.client.token.detail` when the user opts in. Token counts become counters per
 * kind of token, with `gen_ai.token.modality`; per-call token distributions stay as histograms.
 */
export const LATEST_METRICS = {
  inferenceDuration: {
    name: 'gen_ai.client.inference.duration',
    kind: 'histogram',
    unit: 's',
    description: 'GenAI client inference operation duration, from the sidecar receiving the request to the last response byte.',
    buckets: DURATION_BUCKETS,
    origin: 'semconv',
  },
  inferenceTimeToFirstChunk: {
    name: 'gen_ai.client.inference.time_to_first_chunk',
    kind: 'histogram',
    unit: 's',
    description: 'Time from the sidecar receiving a streaming request to the first chunk of the response.',
    buckets: DURATION_BUCKETS,
    origin: 'semconv',
  },
  inferenceTimePerOutputChunk: {
    name: 'gen_ai.client.inference.time_per_output_chunk',
    kind: 'histogram',
    unit: 's',
    description: 'Time between the end of the previous output chunk and the end of the current one, for chunks after the first.',
    buckets: DURATION_BUCKETS,
    origin: 'semconv',
  },
  usageInputTokens: {
    name: 'gen_ai.client.inference.usage.input_tokens',
    kind: 'counter',
    unit: '{token}',
    description: 'Input (prompt) tokens used, including cached tokens; 0 when a call reported no usage.',
    origin: 'semconv',
  },
  usageOutputTokens: {
    name: 'gen_ai.client.inference.usage.output_tokens',
    kind: 'counter',
    unit: '{token}',
    description: 'Output (completion) tokens used, including reasoning tokens; 0 when a call reported no usage.',
    origin: 'semconv',
  },
  usageCacheReadInputTokens: {
    name: 'gen_ai.client.inference.usage.cache_read.input_tokens',
    kind: 'counter',
    unit: '{token}',
    description: 'Input tokens served from a provider-managed cache (part of the input tokens).',
    origin: 'semconv',
  },
  usageCacheWriteInputTokens: {
    name: 'gen_ai.client.inference.usage.cache_write.input_tokens',
    kind: 'counter',
    unit: '{token}',
    description: 'Input tokens written to a provider-managed cache (part of the input tokens).',
    origin: 'semconv',
  },
  usageReasoningOutputTokens: {
    name: 'gen_ai.client.inference.usage.reasoning.output_tokens',
    kind: 'counter',
    unit: '{token}',
    description: 'Output tokens used for reasoning (part of the output tokens).',
    origin: 'semconv',
  },
  operationInputTokens: {
    name: 'gen_ai.client.inference.operation.input_tokens',
    kind: 'histogram',
    unit: '{token}',
    description: 'Input (prompt) tokens per inference operation.',
    buckets: TOKEN_BUCKETS,
    origin: 'semconv',
  },
  operationOutputTokens: {
    name: 'gen_ai.client.inference.operation.output_tokens',
    kind: 'histogram',
    unit: '{token}',
    description: 'Output (completion) tokens per inference operation.',
    buckets: TOKEN_BUCKETS,
    origin: 'semconv',
  },
} as const satisfies Record<string, MetricDefinition>;

export type LatestMetricKey = keyof typeof LATEST_METRICS;

/** Attribute keys. Spec keys first, then the project's own. */
export const ATTR = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  tokenType: 'gen_ai.token.type',
  /** The newer set's counters only (LATEST_METRICS). */
  tokenModality: 'gen_ai.token.modality',
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
/**
 * `gen_ai.token.modality` of the newer set's counters. Providers report totals without a split by
 * modality, which the conventions record as `unknown`.
 */
export const TOKEN_MODALITY = { unknown: 'unknown' } as const;

/** Low-cardinality `error.type` values the sidecar itself produces. */
export const ERROR_TYPE = {
  timeout: 'timeout',
  connectionError: 'connection_error',
  cancelled: 'cancelled',
  /** The sidecar could not sign a request its route must sign (no AWS credentials, a body too large to hash). */
  notSigned: 'request_not_signed',
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
