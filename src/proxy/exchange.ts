/**
 * One proxied call from arrival to its single measurement. Holds what the request told us,
 * watches the response, and records exactly once however the call ends (done, failed,
 * cancelled by the client).
 */
import { performance } from 'node:perf_hooks';
import type { IncomingHttpHeaders } from 'node:http';
import type { Route } from '../config/routes';
import type { ResponseObserver } from '../observe/responseObserver';
import type { RequestFacts, TokenUsage } from '../providers/types';
import type { CompletedCall } from '../telemetry/callRecorder';
import { ERROR_TYPE } from '../telemetry/names';
import { readRateLimitHeaders, type RateLimitReading } from '../telemetry/rateLimitHeaders';
import type { BodyBudget } from './bodyBudget';

/** Everything an exchange needs from the running sidecar; built once. */
export interface ExchangeServices {
  record(call: CompletedCall): void;
  costUsd(providerName: string, requestModel: string | undefined, responseModel: string | undefined, usage: TokenUsage): number | undefined;
  telemetryError(stage: string, error: unknown): void;
  /**
   * The budget buffered request bodies share; a JSON answer kept to be read after it was relayed
   * takes its bytes from it too. Without one (tests of the proxy app) answers are not budgeted.
   */
  bodyBudget?: BodyBudget;
}

export type Outcome =
  | { kind: 'completed' }
  | { kind: 'cancelled' }
  | { kind: 'upstream_failed'; errorType: typeof ERROR_TYPE.timeout | typeof ERROR_TYPE.connectionError | typeof ERROR_TYPE.notSigned };

/** `gen_ai.operation.name` for traffic no provider module recognised; it is still measured. */
export const UNRECOGNISED_OPERATION = '_OTHER';

/**
 * More tokens than one call can plausibly use (context windows are in the millions). A count
 * above it comes from a broken or hostile upstream: recorded, 2^53-1 prompt tokens added
 * billions of dollars to the cost counter and left later small costs lost in the float sum.
 */
export const MAX_TOKENS_PER_CALL = 1_000_000_000;

export class Exchange {
  readonly startedAt = performance.now();
  facts: RequestFacts | undefined;
  /** Body to send upstream instead of the client's stream (already read, maybe rewritten). */
  upstreamBody: Buffer | undefined;
  hideInjectedUsage = false;
  private responseObserver: ResponseObserver | undefined;
  status: number | undefined;
  /** Kept as received and read when the call is recorded: nothing but relaying sits between the provider's head and the client's. */
  private responseHeaders: IncomingHttpHeaders | undefined;
  private responseHeadersAtMs = 0;
  private finished = false;

  constructor(
    readonly route: Route,
    private readonly services: ExchangeServices,
    readonly extraAttributes: Readonly<Record<string, string>>,
  ) {}

  get observer(): ResponseObserver | undefined {
    return this.responseObserver;
  }

  /**
   * Called by the upstream leg when the answer's head arrives, before any of its body. The answer's
   * share of the body budget is handed over here, so the leg needs no budget of its own.
   */
  attachObserver(observer: ResponseObserver): void {
    this.responseObserver = observer;
    const budget = this.services.bodyBudget;
    // A call already recorded would never give a share back: its answer is not kept at all.
    if (budget !== undefined) {
      if (this.finished) observer.dropBody();
      else observer.holdBodyFrom(budget.lease());
    }
  }

  responseStarted(status: number, headers: IncomingHttpHeaders): void {
    this.status = status;
    this.responseHeaders = headers;
    // Reset times may be absolute; a stream can end minutes after its head, so keep the head's clock.
    this.responseHeadersAtMs = Date.now();
  }

  /** Record the call once; later calls (e.g. a close after an error) are ignored. */
  finish(outcome: Outcome): void {
    if (this.finished) return;
    this.finished = true;
    const endedAt = performance.now();
    // An answer that did not end normally is read as far as it came (a compressed one would otherwise wait for its end for ever).
    if (outcome.kind !== 'completed') this.observer?.bodyCut();
    const settled = this.observer?.settled();
    // Only a compressed answer is still being decoded here; everything else is recorded now.
    if (settled === undefined) this.record(outcome, endedAt);
    // settled() never rejects, and record() reports its own failures.
    else void settled.then(() => this.record(outcome, endedAt));
  }

  private record(outcome: Outcome, endedAt: number): void {
    try {
      this.services.record(this.measure(outcome, endedAt));
    } catch (error) {
      this.services.telemetryError('record', error);
    } finally {
      // However the call ended, nothing of its answer is read after this: a body kept but never
      // completed (cut, cancelled, timed out) gives its budget share back here.
      this.observer?.dropBody();
    }
  }

  private measure(outcome: Outcome, endedAt: number): CompletedCall {
    // A client that left mid-stream ends the call between a relayed chunk and its reading.
    this.observer?.catchUp();
    const response = this.observer?.facts ?? { usage: {} };
    const facts = this.facts;
    const streaming = facts?.streaming === true;
    const firstContentAt = this.observer?.firstContentAt;
    const usage = this.plausibleUsage(response.usage);
    const costUsd = this.safeCost(response.responseModel, usage);
    // A recognised, non-streamed call whose answer is not the JSON document it must be brought no
    // completion back (an SDK fails to parse it), whatever the status said. Unrecognised traffic
    // may legitimately be binary (audio, files), and streams are judged by their framing.
    const unreadable = facts !== undefined && !streaming && this.observer?.bodyUnreadable === true;
    return {
      providerName: this.route.provider.providerName,
      serverAddress: this.route.serverAddress,
      serverPort: this.route.serverPort,
      operation: facts?.operation ?? UNRECOGNISED_OPERATION,
      requestModel: facts?.requestModel,
      responseModel: response.responseModel,
      errorType: errorTypeFor(outcome, this.status, response.failed === true || unreadable, response.errorCode),
      httpStatus: this.status,
      durationSeconds: (endedAt - this.startedAt) / 1000,
      timeToFirstChunkSeconds: streaming && firstContentAt !== undefined ? (firstContentAt - this.startedAt) / 1000 : undefined,
      chunkGapsSeconds: streaming ? (this.observer?.chunkGapsSeconds ?? []) : [],
      usage: facts?.operation === 'embeddings' ? { ...usage, output: undefined } : usage,
      costUsd,
      extraAttributes: this.extraAttributes,
      rateLimits: this.readRateLimits(),
    };
  }

  private readRateLimits(): readonly RateLimitReading[] {
    if (this.responseHeaders === undefined) return [];
    try {
      return readRateLimitHeaders(this.responseHeaders, this.responseHeadersAtMs);
    } catch (error) {
      this.services.telemetryError('ratelimit_headers', error);
      return [];
    }
  }

  /**
   * The usage as reported, or none when a count in it is not one a call can have: the report is
   * untrustworthy as a whole (a partial cost would be wrong too), so the call is recorded without
   * tokens or cost and the rejection is counted as a telemetry error. This is the one place every
   * provider's usage passes before it becomes recorded values.
   */
  private plausibleUsage(usage: TokenUsage): TokenUsage {
    for (const count of Object.values(usage)) {
      if (count !== undefined && !(count >= 0 && count <= MAX_TOKENS_PER_CALL)) {
        this.services.telemetryError('implausible_usage', undefined);
        return {};
      }
    }
    return usage;
  }

  private safeCost(responseModel: string | undefined, usage: TokenUsage): number | undefined {
    try {
      return this.services.costUsd(this.route.provider.providerName, this.facts?.requestModel, responseModel, usage);
    } catch (error) {
      this.services.telemetryError('cost', error);
      return undefined;
    }
  }
}

/**
 * `error.type`: the sidecar's own low-cardinality kinds for calls that never completed, else the
 * provider's error identifier, else the HTTP status, else `_OTHER` for a 2xx whose body failed
 * (it reported an error, or could not be read at all). Success leaves it unset.
 */
export function errorTypeFor(outcome: Outcome, status: number | undefined, failedInBody: boolean, errorCode: string | undefined): string | undefined {
  if (outcome.kind === 'cancelled') return ERROR_TYPE.cancelled;
  if (outcome.kind === 'upstream_failed') return outcome.errorType;
  if (status !== undefined && status >= 400) return errorCode ?? String(status);
  if (failedInBody) return errorCode ?? ERROR_TYPE.other;
  return undefined;
}
