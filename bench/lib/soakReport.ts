/**
 * The soak's figures, pure: requests and once-a-second samples grouped into windows (a minute
 * each), and the first window compared with the last. Memory or open files that keep growing
 * at a steady rate show up as a last window above the first.
 */
import { summarize, type Summary } from './stats';
import { formatNumber } from './table';

export interface SoakRequest {
  /** Seconds since the soak began, when the request was started (or skipped). */
  atS: number;
  kind: 'plain' | 'stream';
  ok: boolean;
  /** Not sent: too many already in flight (the sidecar fell behind the rate). */
  skipped?: boolean;
  /** Whole answer (plain) or first byte (stream), ms. */
  ms?: number;
  /** Largest gap between a stream's events, ms. */
  maxGapMs?: number;
}

export interface SoakSample {
  atS: number;
  rssKb?: number;
  fds?: number;
  /** Latency of the sidecar's admin /healthz: its event loop's lag seen from outside, ms. */
  healthzMs?: number;
  /** The load generator's own event-loop delay p99 over the last second, ms (to tell whose lag it is). */
  benchLoopP99Ms?: number;
}

export interface SoakWindow {
  fromS: number;
  toS: number;
  requests: number;
  failures: number;
  skipped: number;
  plainMs?: Summary;
  streamTtfbMs?: Summary;
  streamMaxGapMs?: number;
  rssMb?: Summary;
  fds?: Summary;
  healthzMs?: Summary;
  benchLoopP99Ms?: number;
}

export interface SoakComparison {
  rssMeanGrowthMb?: number;
  rssMaxGrowthMb?: number;
  fdsMaxGrowth?: number;
  healthzP99ChangeMs?: number;
  plainP99ChangeMs?: number;
}

/** Request `index` is a stream when it carries the running share past a whole number: evenly spread, no randomness. */
export function isStreamRequest(index: number, share: number): boolean {
  return Math.floor((index + 1) * share) > Math.floor(index * share);
}

/** Window length: a minute, or a third of a short soak so there are always first and last windows. */
export function windowSeconds(totalS: number): number {
  return Math.min(60, totalS / 3);
}

function inWindow<T extends { atS: number }>(items: readonly T[], fromS: number, toS: number, last: boolean): T[] {
  return items.filter((item) => item.atS >= fromS && (item.atS < toS || (last && item.atS <= toS)));
}

function defined(values: ReadonlyArray<number | undefined>): number[] {
  return values.filter((value): value is number => value !== undefined);
}

export function soakWindows(requests: readonly SoakRequest[], samples: readonly SoakSample[], totalS: number): SoakWindow[] {
  const length = windowSeconds(totalS);
  const count = Math.max(1, Math.round(totalS / length));
  const windows: SoakWindow[] = [];
  for (let index = 0; index < count; index += 1) {
    const fromS = index * length;
    const last = index === count - 1;
    const toS = last ? totalS : fromS + length;
    const sent = inWindow(requests, fromS, toS, last);
    const seen = inWindow(samples, fromS, toS, last);
    const completed = sent.filter((request) => request.ok);
    const gaps = defined(completed.map((request) => request.maxGapMs));
    const loop = defined(seen.map((sample) => sample.benchLoopP99Ms));
    windows.push({
      fromS,
      toS,
      requests: sent.length,
      failures: sent.filter((request) => !request.ok && !request.skipped).length,
      skipped: sent.filter((request) => request.skipped).length,
      plainMs: summarize(defined(completed.filter((request) => request.kind === 'plain').map((request) => request.ms))),
      streamTtfbMs: summarize(defined(completed.filter((request) => request.kind === 'stream').map((request) => request.ms))),
      streamMaxGapMs: gaps.length > 0 ? Math.max(...gaps) : undefined,
      rssMb: summarize(defined(seen.map((sample) => (sample.rssKb === undefined ? undefined : sample.rssKb / 1024)))),
      fds: summarize(defined(seen.map((sample) => sample.fds))),
      healthzMs: summarize(defined(seen.map((sample) => sample.healthzMs))),
      benchLoopP99Ms: loop.length > 0 ? Math.max(...loop) : undefined,
    });
  }
  return windows;
}

function change(last: number | undefined, first: number | undefined): number | undefined {
  return last === undefined || first === undefined ? undefined : last - first;
}

export function compareFirstLast(windows: readonly SoakWindow[]): SoakComparison {
  const first = windows[0];
  const last = windows[windows.length - 1];
  if (!first || !last || first === last) return {};
  return {
    rssMeanGrowthMb: change(last.rssMb?.mean, first.rssMb?.mean),
    rssMaxGrowthMb: change(last.rssMb?.max, first.rssMb?.max),
    fdsMaxGrowth: change(last.fds?.max, first.fds?.max),
    healthzP99ChangeMs: change(last.healthzMs?.p99, first.healthzMs?.p99),
    plainP99ChangeMs: change(last.plainMs?.p99, first.plainMs?.p99),
  };
}

const n = formatNumber;

export function renderSoakMarkdown(meta: Readonly<Record<string, string | number>>, windows: readonly SoakWindow[], comparison: SoakComparison): string {
  const header = '| window (s) | requests | failed | skipped | plain p50 ms | plain p99 ms | stream TTFB p99 ms | stream max gap ms | /healthz p50 ms | /healthz p99 ms | /healthz max ms | RSS mean MiB | RSS max MiB | fds max | bench loop p99 ms |';
  const rows = windows.map(
    (w) =>
      `| ${n(w.fromS)}-${n(w.toS)} | ${w.requests} | ${w.failures} | ${w.skipped} | ${n(w.plainMs?.p50)} | ${n(w.plainMs?.p99)} | ${n(w.streamTtfbMs?.p99)} | ${n(w.streamMaxGapMs)} | ${n(w.healthzMs?.p50)} | ${n(w.healthzMs?.p99)} | ${n(w.healthzMs?.max)} | ${n(w.rssMb?.mean)} | ${n(w.rssMb?.max)} | ${n(w.fds?.max)} | ${n(w.benchLoopP99Ms)} |`,
  );
  return [
    '# genai-sidecar soak',
    '',
    ...Object.entries(meta).map(([key, value]) => `- ${key}: ${value}`),
    '',
    header,
    `|${header.split('|').slice(1, -1).map(() => '---:').join('|')}|`,
    ...rows,
    '',
    '## Last window against the first',
    '',
    `- RSS mean: ${n(comparison.rssMeanGrowthMb)} MiB; RSS max: ${n(comparison.rssMaxGrowthMb)} MiB`,
    `- open fds (max): ${n(comparison.fdsMaxGrowth)}`,
    `- /healthz p99 (event-loop lag seen from outside): ${n(comparison.healthzP99ChangeMs)} ms`,
    `- plain request p99: ${n(comparison.plainP99ChangeMs)} ms`,
    '',
    '/healthz shares the sidecar\'s event loop, so its latency is that loop\'s lag seen from outside; "bench loop p99" is the load generator\'s own lag, to tell the two apart.',
    '',
  ].join('\n');
}
