/**
 * The same dashboard queries and alert signals asked of several real Prometheus instances that
 * hold the same traffic by different routes (collector push or scrape, one set of GenAI metric
 * names or the other), and their answers compared: the same series, the same values.
 *
 * rate() and increase() extrapolate to the window's ends from the first and last sample in it,
 * and two instances sample at different moments, so those values may differ by up to two sample
 * intervals over the window; everything else must match exactly. The traffic helper below makes
 * the window start after every series exists, so rates compare real growth from equal first values.
 */
import { alertRules } from '../../src/observability/alerts/rules';
import { dashboardQueries } from '../../src/observability/dashboards/render';
import { COLLECTOR_JOB } from '../../src/telemetry/collectorNames';
import { replayCorpus, withVariables } from './corpusTraffic';
import type { FakeProvider } from './fakeProvider';
import type { QueryApi, QueryResult } from './prometheus';

/** A query's answer without the scrape/writer identity (job, instance differ by route), in a stable order. */
export function normalised(results: QueryResult[]): Array<{ labels: string; value: number }> {
  return results
    .map((result) => {
      const { job: _job, instance: _instance, ...labels } = result.metric;
      return { labels: JSON.stringify(Object.entries(labels).sort()), value: Number(result.value[1]) };
    })
    .sort((a, b) => a.labels.localeCompare(b.labels) || a.value - b.value);
}

function close(a: number, b: number, tolerance: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  return a === b || Math.abs(a - b) <= tolerance * Math.max(Math.abs(a), Math.abs(b));
}

export interface ComparisonTarget {
  name: string;
  prometheus: QueryApi;
}

export interface ComparisonRules {
  /**
   * A series present on one side only counts as equal if its value is 0 or NaN there (the newer
   * conventions record 0 for a token count a call did not report; v1.41 records nothing).
   */
  absentEqualsZero?: boolean;
  /** Queries whose values may differ (e.g. durations measured by different processes): labels only. */
  labelsOnly?: (expr: string) => boolean;
}

export class QueryComparer {
  /** The largest relative difference seen on a rate()/increase() query. */
  largestRateDifference = { value: 0, expr: '' };
  /** Values compared from rate()/increase() queries that were not zero (a comparison of zeros proves little). */
  nonZeroRates = 0;

  constructor(
    private readonly reference: ComparisonTarget,
    private readonly others: readonly ComparisonTarget[],
    private readonly evaluateAt: number,
    readonly rateTolerance: number,
    private readonly rules: ComparisonRules = {},
  ) {}

  /**
   * Problems found, none when every target answers `query` as the reference does. topk/bottomk
   * pick arbitrarily among equal values, so their whole inner ranking is compared.
   */
  async compare(query: string): Promise<string[]> {
    const expr = /^(?:topk|bottomk)\(\s*\d+\s*,\s*([^]*)\)$/.exec(query)?.[1] ?? query;
    const extrapolates = /\b(rate|irate|increase)\(/.test(expr);
    const tolerance = extrapolates ? this.rateTolerance : 1e-9;
    const zeroish = (value: number): boolean => value === 0 || Number.isNaN(value);
    const answer = async (prometheus: QueryApi): Promise<Array<{ labels: string; value: number }>> => {
      const rows = normalised(await prometheus.query(expr, this.evaluateAt));
      return this.rules.absentEqualsZero ? rows.filter((row) => !zeroish(row.value)) : rows;
    };
    const reference = await answer(this.reference.prometheus);
    const labelsOnly = this.rules.labelsOnly?.(expr) ?? false;
    const problems: string[] = [];
    for (const { name, prometheus } of this.others) {
      const other = await answer(prometheus);
      if (JSON.stringify(other.map((r) => r.labels)) !== JSON.stringify(reference.map((r) => r.labels))) {
        const theirs = new Set(other.map((r) => r.labels));
        const ours = new Set(reference.map((r) => r.labels));
        problems.push(
          `${name}: series differ: only in ${this.reference.name} ${JSON.stringify(reference.filter((r) => !theirs.has(r.labels)))}, only in ${name} ${JSON.stringify(other.filter((r) => !ours.has(r.labels)))}`,
        );
        continue;
      }
      reference.forEach((ref, index) => {
        const value = other[index]?.value ?? NaN;
        const difference = Math.abs(ref.value - value) / Math.max(Math.abs(ref.value), Math.abs(value), Number.MIN_VALUE);
        if (extrapolates && !labelsOnly && difference > this.largestRateDifference.value) this.largestRateDifference = { value: difference, expr };
        if (extrapolates && !labelsOnly && ref.value !== 0) this.nonZeroRates += 1;
        if (labelsOnly) {
          if (!Number.isFinite(value) !== !Number.isFinite(ref.value)) problems.push(`${name}: ${ref.labels} is ${value}, ${this.reference.name} ${ref.value}`);
          return;
        }
        if (!close(ref.value, value, tolerance)) problems.push(`${name}: ${ref.labels} is ${value}, ${this.reference.name} ${ref.value}`);
      });
    }
    return problems;
  }
}

export interface WindowedTraffic {
  /** When the queries' window starts (ms since the epoch): every series existed by then. */
  windowStart: number;
}

/**
 * Four rounds of the corpus, alternating between `groups` of sidecars (every sidecar of a group
 * gets the same calls): the first two create every series, then the window starts, and the next
 * two make the series grow inside it. Each group keeps its tenant rotation, so no series first
 * appears inside the window.
 */
export async function replayInWindow(groups: ReadonlyArray<readonly string[]>, provider: FakeProvider, intervalMs: number): Promise<WindowedTraffic> {
  const pause = (intervals: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, intervals * intervalMs));
  let windowStart = 0;
  for (let round = 0; round < 4; round += 1) {
    if (round === 2) {
      await pause(8);
      windowStart = Date.now();
      await pause(12);
    }
    const group = groups[round % groups.length] ?? [];
    for (const url of group) await replayCorpus(url, provider, round % groups.length);
    await pause(8);
  }
  return { windowStart };
}

/** The rate tolerance for a window of `windowSeconds` sampled every `intervalMs`. */
export function rateToleranceFor(intervalMs: number, windowSeconds: number): number {
  return (2.5 * intervalMs) / 1000 / windowSeconds;
}

/** Queries about the collector itself have no counterpart on a route without one. */
const aboutCollector = (expr: string): boolean => expr.includes('otelcol_') || expr.includes(COLLECTOR_JOB);

/**
 * Every dashboard panel query and alert signal about the sidecars, named, each made concrete for
 * a comparison over `window()` (read when the test runs): Grafana's variables for the panels, and
 * for the alerts their own windows (5m, 10m ...), which would reach back to the series' creation.
 */
export function sidecarQueries(window: () => string): { dashboards: Array<[string, () => string]>; alerts: Array<[string, () => string]> } {
  return {
    dashboards: dashboardQueries()
      .filter((query) => !aboutCollector(query.expr))
      .map((query) => [`${query.dashboard} / ${query.panel}`, () => withVariables(query.expr, window())]),
    alerts: alertRules()
      .filter((rule) => !aboutCollector(rule.signal))
      .map((rule) => [rule.alert, () => rule.signal.replace(/\[\d+[smhdw]\]/g, `[${window()}]`)]),
  };
}
