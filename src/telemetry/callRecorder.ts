/**
 * Turns one completed call into measurements. Instruments are created once; per call the work
 * is building one attribute set and a handful of `record()` calls.
 */
import type { Attributes, Counter, Histogram, Meter, ObservableGauge } from '@opentelemetry/api';
import type { RateLimitReading } from './rateLimitHeaders';
import type { TokenUsage } from '../providers/types';
import { CardinalityLimiter } from './cardinality';
import { ATTR, METRICS, TOKEN_DETAIL_TYPE, TOKEN_TYPE, type MetricDefinition } from './names';

export interface CompletedCall {
  providerName: string;
  serverAddress: string;
  serverPort: number;
  operation: string;
  requestModel?: string;
  responseModel?: string;
  /** `error.type`, only when the call failed. */
  errorType?: string;
  httpStatus?: number;
  durationSeconds: number;
  /** Streaming calls only. */
  timeToFirstChunkSeconds?: number;
  chunkGapsSeconds: readonly number[];
  usage: TokenUsage;
  costUsd?: number;
  /** Opt-in attributes mapped from request headers (already capped). */
  extraAttributes: Readonly<Record<string, string>>;
  rateLimits: readonly RateLimitReading[];
}

export interface RecorderLimits {
  /** Distinct values allowed per model / error attribute before `_OTHER`. */
  maxAttributeValues: number;
}

interface RateLimitKey {
  attributes: Attributes;
  reading: RateLimitReading;
}

export class CallRecorder {
  private readonly tokenUsage: Histogram;
  private readonly duration: Histogram;
  private readonly timeToFirstChunk: Histogram;
  private readonly timePerOutputChunk: Histogram;
  private readonly tokenDetail: Counter;
  private readonly cost: Counter;
  private readonly telemetryErrors: Counter;
  private readonly models: CardinalityLimiter;
  private readonly errorTypes: CardinalityLimiter;
  /** Last rate-limit reading per (provider, server, model-less) identity; observed by gauges. */
  private readonly rateLimits = new Map<string, RateLimitKey>();
  private readonly maxRateLimitSeries = 256;

  constructor(meter: Meter, limits: RecorderLimits) {
    this.tokenUsage = histogram(meter, METRICS.tokenUsage);
    this.duration = histogram(meter, METRICS.operationDuration);
    this.timeToFirstChunk = histogram(meter, METRICS.timeToFirstChunk);
    this.timePerOutputChunk = histogram(meter, METRICS.timePerOutputChunk);
    this.tokenDetail = counter(meter, METRICS.tokenDetail);
    this.cost = counter(meter, METRICS.cost);
    this.telemetryErrors = counter(meter, METRICS.telemetryErrors);
    this.models = new CardinalityLimiter(limits.maxAttributeValues);
    this.errorTypes = new CardinalityLimiter(limits.maxAttributeValues, 64);
    this.registerRateLimitGauges(meter);
  }

  record(call: CompletedCall): void {
    const attributes = this.attributesFor(call);
    const withStatus = call.httpStatus === undefined ? attributes : { ...attributes, [ATTR.httpStatusCode]: call.httpStatus };
    this.duration.record(call.durationSeconds, withStatus);
    if (call.timeToFirstChunkSeconds !== undefined) this.timeToFirstChunk.record(call.timeToFirstChunkSeconds, attributes);
    for (const gap of call.chunkGapsSeconds) this.timePerOutputChunk.record(gap, attributes);
    const { usage } = call;
    if (usage.input !== undefined) this.tokenUsage.record(usage.input, { ...attributes, [ATTR.tokenType]: TOKEN_TYPE.input });
    if (usage.output !== undefined) this.tokenUsage.record(usage.output, { ...attributes, [ATTR.tokenType]: TOKEN_TYPE.output });
    this.addDetail(usage.cacheRead, TOKEN_DETAIL_TYPE.cacheRead, attributes);
    this.addDetail(usage.cacheWrite, TOKEN_DETAIL_TYPE.cacheWrite, attributes);
    this.addDetail(usage.reasoning, TOKEN_DETAIL_TYPE.reasoning, attributes);
    if (call.costUsd !== undefined && call.costUsd > 0) this.cost.add(call.costUsd, attributes);
    this.rememberRateLimits(call);
  }

  /** Count a telemetry failure that did not affect traffic. */
  telemetryError(stage: string): void {
    this.telemetryErrors.add(1, { [ATTR.telemetryStage]: stage });
  }

  private attributesFor(call: CompletedCall): Attributes {
    const attributes: Attributes = {
      ...call.extraAttributes,
      [ATTR.operationName]: call.operation,
      [ATTR.providerName]: call.providerName,
      [ATTR.serverAddress]: call.serverAddress,
      [ATTR.serverPort]: call.serverPort,
    };
    if (call.requestModel !== undefined) attributes[ATTR.requestModel] = this.models.admit(call.requestModel);
    if (call.responseModel !== undefined) attributes[ATTR.responseModel] = this.models.admit(call.responseModel);
    if (call.errorType !== undefined) attributes[ATTR.errorType] = this.errorTypes.admit(call.errorType);
    return attributes;
  }

  private addDetail(value: number | undefined, type: string, attributes: Attributes): void {
    if (value === undefined) return;
    this.tokenDetail.add(value, { ...attributes, [ATTR.tokenDetailType]: type });
  }

  private rememberRateLimits(call: CompletedCall): void {
    for (const reading of call.rateLimits) {
      const attributes: Attributes = {
        [ATTR.providerName]: call.providerName,
        [ATTR.serverAddress]: call.serverAddress,
        [ATTR.rateLimitResource]: reading.resource,
      };
      const key = `${call.providerName}\u0000${call.serverAddress}\u0000${reading.resource}`;
      if (!this.rateLimits.has(key) && this.rateLimits.size >= this.maxRateLimitSeries) continue;
      this.rateLimits.set(key, { attributes, reading });
    }
  }

  private registerRateLimitGauges(meter: Meter): void {
    const gauges: Array<[ObservableGauge, (r: RateLimitReading) => number | undefined]> = [
      [gauge(meter, METRICS.rateLimitRemaining), (r) => r.remaining],
      [gauge(meter, METRICS.rateLimitLimit), (r) => r.limit],
      [gauge(meter, METRICS.rateLimitResetSeconds), (r) => r.resetSeconds],
    ];
    for (const [instrument, pick] of gauges) {
      instrument.addCallback((result) => {
        for (const { attributes, reading } of this.rateLimits.values()) {
          const value = pick(reading);
          if (value !== undefined) result.observe(value, attributes);
        }
      });
    }
  }
}

function histogram(meter: Meter, definition: MetricDefinition): Histogram {
  return meter.createHistogram(definition.name, {
    unit: definition.unit,
    description: definition.description,
    advice: definition.buckets ? { explicitBucketBoundaries: [...definition.buckets] } : undefined,
  });
}

function counter(meter: Meter, definition: MetricDefinition): Counter {
  return meter.createCounter(definition.name, { unit: definition.unit, description: definition.description });
}

function gauge(meter: Meter, definition: MetricDefinition): ObservableGauge {
  return meter.createObservableGauge(definition.name, { unit: definition.unit, description: definition.description });
}
