/**
 * Turns one completed call into measurements. Instruments are created once, and handles are bound
 * once per attribute set: per call the work is one key, one Map lookup and a few additions.
 */
import type { Attributes, Counter, Meter, ObservableGauge } from '@opentelemetry/api';
import type { RateLimitReading } from './rateLimitHeaders';
import type { TokenUsage } from '../providers/types';
import { MAX_SERIES_PER_INSTRUMENT, OVERFLOW_ATTRIBUTES, type BoundCounter, type BoundHistogram, type CounterHandle, type HistogramHandle } from './boundInstruments';
import { CardinalityLimiter } from './cardinality';
import type { TelemetryPipeline } from './pipeline';
import { ATTR, LATEST_METRICS, METRICS, TOKEN_DETAIL_TYPE, TOKEN_MODALITY, TOKEN_TYPE, type MetricDefinition, type SemconvSet } from './names';

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
  /** Which GenAI client metrics to record (names.ts SEMCONV); v1_41 unless given. */
  semconv?: SemconvSet;
}

interface RateLimitKey {
  attributes: Attributes;
  reading: RateLimitReading;
}

type HistogramName = 'duration' | 'firstChunk' | 'chunkGap' | 'input' | 'output';
type CounterName = 'cacheRead' | 'cacheWrite' | 'reasoning' | 'cost' | 'usageInput' | 'usageOutput';

/** v1.41: one histogram for input and output tokens, and the project's counter for the rest. */
interface V141Tokens {
  usage: BoundHistogram;
  detail: BoundCounter;
}

/** The newer set's token instruments (LATEST_METRICS). */
interface LatestTokens {
  operationInput: BoundHistogram;
  operationOutput: BoundHistogram;
  input: BoundCounter;
  output: BoundCounter;
  cacheRead: BoundCounter;
  cacheWrite: BoundCounter;
  reasoning: BoundCounter;
}

/** Handles for one attribute set of a call, bound on first use (most calls never need some). */
class CallSeries {
  private readonly histograms: Partial<Record<HistogramName, HistogramHandle>> = {};
  private readonly counters: Partial<Record<CounterName, CounterHandle>> = {};

  constructor(
    readonly attributes: Attributes,
    readonly withStatus: Attributes,
    private readonly key: string,
  ) {}

  histogram(name: HistogramName, instrument: BoundHistogram, attributes: () => Attributes): HistogramHandle {
    // The handle name is part of the key: input and output tokens share one instrument.
    return (this.histograms[name] ??= instrument.bind(`${this.key}\u0000${name}`, attributes));
  }

  counter(name: CounterName, instrument: BoundCounter, attributes: () => Attributes): CounterHandle {
    return (this.counters[name] ??= instrument.bind(`${this.key}\u0000${name}`, attributes));
  }
}

export class CallRecorder {
  private readonly duration: BoundHistogram;
  private readonly timeToFirstChunk: BoundHistogram;
  private readonly timePerOutputChunk: BoundHistogram;
  /** Exactly one of the two is set, by the set of GenAI metrics recorded. */
  private readonly v141: V141Tokens | undefined;
  private readonly latest: LatestTokens | undefined;
  private readonly cost: BoundCounter;
  private telemetryErrors: Counter | undefined;
  /** Telemetry errors counted before the SDK side started, by stage (a handful of stages). */
  private readonly pendingTelemetryErrors = new Map<string, number>();
  private readonly models: CardinalityLimiter;
  private readonly errorTypes: CardinalityLimiter;
  /** Attribute sets seen so far, by a key built from the call's (already bounded) values. */
  private readonly series = new Map<string, CallSeries>();
  private overflowSeries: CallSeries | undefined;
  /** Last rate-limit reading per (provider, server, model-less) identity; observed by gauges. */
  private readonly rateLimits = new Map<string, RateLimitKey>();
  private readonly maxRateLimitSeries = 256;

  /**
   * Per-call metrics go to the bound instruments from the first call on; the rare instruments
   * (telemetry errors, rate-limit gauges) are created on the SDK's meter once the pipeline has
   * started, and telemetry errors counted before that are added then.
   */
  constructor(telemetry: Pick<TelemetryPipeline, 'boundInstruments' | 'withMeter'>, limits: RecorderLimits) {
    const instruments = telemetry.boundInstruments;
    if (limits.semconv === 'latest') {
      this.duration = instruments.histogram(LATEST_METRICS.inferenceDuration);
      this.timeToFirstChunk = instruments.histogram(LATEST_METRICS.inferenceTimeToFirstChunk);
      this.timePerOutputChunk = instruments.histogram(LATEST_METRICS.inferenceTimePerOutputChunk);
      this.latest = {
        operationInput: instruments.histogram(LATEST_METRICS.operationInputTokens),
        operationOutput: instruments.histogram(LATEST_METRICS.operationOutputTokens),
        input: instruments.counter(LATEST_METRICS.usageInputTokens),
        output: instruments.counter(LATEST_METRICS.usageOutputTokens),
        cacheRead: instruments.counter(LATEST_METRICS.usageCacheReadInputTokens),
        cacheWrite: instruments.counter(LATEST_METRICS.usageCacheWriteInputTokens),
        reasoning: instruments.counter(LATEST_METRICS.usageReasoningOutputTokens),
      };
    } else {
      this.duration = instruments.histogram(METRICS.operationDuration);
      this.timeToFirstChunk = instruments.histogram(METRICS.timeToFirstChunk);
      this.timePerOutputChunk = instruments.histogram(METRICS.timePerOutputChunk);
      this.v141 = { usage: instruments.histogram(METRICS.tokenUsage), detail: instruments.counter(METRICS.tokenDetail) };
    }
    this.cost = instruments.counter(METRICS.cost);
    this.models = new CardinalityLimiter(limits.maxAttributeValues);
    this.errorTypes = new CardinalityLimiter(limits.maxAttributeValues, 64);
    telemetry.withMeter((meter) => {
      const errors = counter(meter, METRICS.telemetryErrors);
      for (const [stage, count] of this.pendingTelemetryErrors) errors.add(count, { [ATTR.telemetryStage]: stage });
      this.pendingTelemetryErrors.clear();
      this.telemetryErrors = errors;
      this.registerRateLimitGauges(meter);
    });
  }

  record(call: CompletedCall): void {
    const series = this.seriesFor(call);
    const attributes = series.attributes;
    series.histogram('duration', this.duration, () => series.withStatus).record(call.durationSeconds);
    if (call.timeToFirstChunkSeconds !== undefined) series.histogram('firstChunk', this.timeToFirstChunk, () => attributes).record(call.timeToFirstChunkSeconds);
    if (call.chunkGapsSeconds.length > 0) {
      const gaps = series.histogram('chunkGap', this.timePerOutputChunk, () => attributes);
      for (const gap of call.chunkGapsSeconds) gaps.record(gap);
    }
    if (this.latest !== undefined) this.recordLatestTokens(series, call.usage, this.latest);
    if (this.v141 !== undefined) this.recordTokens(series, call.usage, this.v141);
    if (call.costUsd !== undefined && call.costUsd > 0) series.counter('cost', this.cost, () => attributes).add(call.costUsd);
    if (call.rateLimits.length > 0) this.rememberRateLimits(call);
  }

  /** Count a telemetry failure that did not affect traffic. */
  telemetryError(stage: string): void {
    if (this.telemetryErrors !== undefined) this.telemetryErrors.add(1, { [ATTR.telemetryStage]: stage });
    else this.pendingTelemetryErrors.set(stage, (this.pendingTelemetryErrors.get(stage) ?? 0) + 1);
  }

  private seriesFor(call: CompletedCall): CallSeries {
    const requestModel = call.requestModel === undefined ? undefined : this.models.admit(call.requestModel);
    const responseModel = call.responseModel === undefined ? undefined : this.models.admit(call.responseModel);
    const errorType = call.errorType === undefined ? undefined : this.errorTypes.admit(call.errorType);
    // Values are bounded (limiters, routes, header mapper), so the key space is too; \u0001 marks absent.
    let key = `${call.operation}\u0000${call.providerName}\u0000${call.serverAddress}\u0000${call.serverPort}\u0000${requestModel ?? '\u0001'}\u0000${responseModel ?? '\u0001'}\u0000${errorType ?? '\u0001'}\u0000${call.httpStatus ?? '\u0001'}`;
    for (const name in call.extraAttributes) key += `\u0000${name}=${call.extraAttributes[name]}`;
    const found = this.series.get(key);
    if (found !== undefined) return found;
    if (this.series.size >= MAX_SERIES_PER_INSTRUMENT) {
      this.overflowSeries ??= new CallSeries(OVERFLOW_ATTRIBUTES, OVERFLOW_ATTRIBUTES, '\u0002overflow');
      return this.overflowSeries;
    }
    const attributes: Attributes = {
      ...call.extraAttributes,
      [ATTR.operationName]: call.operation,
      [ATTR.providerName]: call.providerName,
      [ATTR.serverAddress]: call.serverAddress,
      [ATTR.serverPort]: call.serverPort,
    };
    if (requestModel !== undefined) attributes[ATTR.requestModel] = requestModel;
    if (responseModel !== undefined) attributes[ATTR.responseModel] = responseModel;
    if (errorType !== undefined) attributes[ATTR.errorType] = errorType;
    const withStatus = call.httpStatus === undefined ? attributes : { ...attributes, [ATTR.httpStatusCode]: call.httpStatus };
    const created = new CallSeries(attributes, withStatus, key);
    this.series.set(key, created);
    return created;
  }

  /** v1.41: a count the provider did not report is not recorded (absent is not zero). */
  private recordTokens(series: CallSeries, usage: TokenUsage, v141: V141Tokens): void {
    const { attributes } = series;
    if (usage.input !== undefined) series.histogram('input', v141.usage, () => ({ ...attributes, [ATTR.tokenType]: TOKEN_TYPE.input })).record(usage.input);
    if (usage.output !== undefined) series.histogram('output', v141.usage, () => ({ ...attributes, [ATTR.tokenType]: TOKEN_TYPE.output })).record(usage.output);
    const detail = (name: CounterName, value: number | undefined, type: string): void => {
      if (value !== undefined) series.counter(name, v141.detail, () => ({ ...attributes, [ATTR.tokenDetailType]: type })).add(value);
    };
    detail('cacheRead', usage.cacheRead, TOKEN_DETAIL_TYPE.cacheRead);
    detail('cacheWrite', usage.cacheWrite, TOKEN_DETAIL_TYPE.cacheWrite);
    detail('reasoning', usage.reasoning, TOKEN_DETAIL_TYPE.reasoning);
  }

  /**
   * The newer set, as its conventions ask: every inference operation is recorded, failed ones
   * included, with 0 for a count the provider did not report; counters carry
   * `gen_ai.token.modality` (`unknown`: providers report no split by modality).
   */
  private recordLatestTokens(series: CallSeries, usage: TokenUsage, latest: LatestTokens): void {
    const { attributes } = series;
    const withModality = (): Attributes => ({ ...attributes, [ATTR.tokenModality]: TOKEN_MODALITY.unknown });
    series.histogram('input', latest.operationInput, () => attributes).record(usage.input ?? 0);
    series.histogram('output', latest.operationOutput, () => attributes).record(usage.output ?? 0);
    series.counter('usageInput', latest.input, withModality).add(usage.input ?? 0);
    series.counter('usageOutput', latest.output, withModality).add(usage.output ?? 0);
    series.counter('cacheRead', latest.cacheRead, withModality).add(usage.cacheRead ?? 0);
    series.counter('cacheWrite', latest.cacheWrite, withModality).add(usage.cacheWrite ?? 0);
    series.counter('reasoning', latest.reasoning, withModality).add(usage.reasoning ?? 0);
  }

  private rememberRateLimits(call: CompletedCall): void {
    for (const reading of call.rateLimits) {
      const attributes: Attributes = {
        [ATTR.providerName]: call.providerName,
        [ATTR.serverAddress]: call.serverAddress,
        [ATTR.rateLimitResource]: reading.resource,
      };
      const key = `${call.providerName}\u0000${call.serverAddress}\u0000${reading.resource}`;
      const previous = this.rateLimits.get(key);
      if (previous === undefined && this.rateLimits.size >= this.maxRateLimitSeries) continue;
      // Each gauge keeps the last value seen: an answer that carries the limit but not what is
      // left (some do) must not make the remaining-gauge vanish until the next full answer.
      this.rateLimits.set(key, { attributes, reading: previous === undefined ? reading : mergeReadings(previous.reading, reading) });
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

/** `next`'s values where it has them, `previous`'s elsewhere. */
function mergeReadings(previous: RateLimitReading, next: RateLimitReading): RateLimitReading {
  return {
    resource: next.resource,
    limit: next.limit ?? previous.limit,
    remaining: next.remaining ?? previous.remaining,
    resetSeconds: next.resetSeconds ?? previous.resetSeconds,
  };
}

function counter(meter: Meter, definition: MetricDefinition): Counter {
  return meter.createCounter(definition.name, { unit: definition.unit, description: definition.description });
}

function gauge(meter: Meter, definition: MetricDefinition): ObservableGauge {
  return meter.createObservableGauge(definition.name, { unit: definition.unit, description: definition.description });
}
