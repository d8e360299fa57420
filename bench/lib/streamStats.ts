/**
 * Figures from timed streams: time to first byte, gaps between events, and each event's delivery
 * delay (arrival minus the fake provider's send time). Pure.
 */
import { summarize, type Summary } from './stats';

export interface StreamSample {
  /** Request sent to first body byte, ms. */
  ttfbMs: number;
  /** Between consecutive complete events, ms. */
  gapsMs: number[];
  /** Each stamped event's arrival minus its send time, ms. */
  deliveryMs: number[];
  events: number;
  /** Hash of the events as received, send times blanked: equal streams, equal hashes. */
  digest: string;
  /** The request opened a connection instead of reusing a kept-alive one: set-up is in its first byte. */
  newConnection: boolean;
}

export interface StreamFailure {
  error: string;
}

export interface StreamFigures {
  streams: number;
  failures: number;
  /** Streams whose event count differs from what the fake sent. */
  incomplete: number;
  /** Streams that opened a connection (its set-up then counts in their first byte). */
  newConnections: number;
  ttfbMs?: Summary;
  gapMs?: Summary;
  deliveryMs?: Summary;
  /** Distinct digests seen: 1 when every stream arrived identical. */
  digests: string[];
}

export function streamFigures(results: ReadonlyArray<StreamSample | StreamFailure>, expectedEvents: number): StreamFigures {
  const samples = results.filter((result): result is StreamSample => 'digest' in result);
  return {
    streams: samples.length,
    failures: results.length - samples.length,
    incomplete: samples.filter((sample) => sample.events !== expectedEvents).length,
    newConnections: samples.filter((sample) => sample.newConnection).length,
    ttfbMs: summarize(samples.map((sample) => sample.ttfbMs)),
    gapMs: summarize(samples.flatMap((sample) => sample.gapsMs)),
    deliveryMs: summarize(samples.flatMap((sample) => sample.deliveryMs)),
    digests: [...new Set(samples.map((sample) => sample.digest))],
  };
}
