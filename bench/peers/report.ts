/**
 * The peers section's tables: the main benchmark's figures for each contender, with each peer's
 * figure as a ratio to the sidecar's from the same run, and the correctness row. Pure.
 */
import { STREAM_CHUNKS, STREAM_PACING_MS } from '../lib/payloads';
import { difference, median, ratio } from '../lib/stats';
import { formatNumber, formatRatio } from '../lib/table';
import { describeComparison } from './compare';
import type { CaseOutcome } from './correctness';
import type { PeerJsonRun, PeerResults } from './results';

export interface PeerRow {
  section: string;
  label: string;
  unit: string;
  /** By contender name; "added" rows hold the amount over direct (direct's own is absent). */
  values: Record<string, number | undefined>;
}

const REFERENCE = 'sidecar';
const KB_PER_MIB = 1024;

function names(results: PeerResults): string[] {
  return results.contenders.map((contender) => contender.name);
}

/** Every contender but direct and the sidecar: the ones shown as a ratio to the sidecar. */
export function peerNames(results: PeerResults): string[] {
  return names(results).filter((name) => name !== 'direct' && name !== REFERENCE);
}

function byContender(results: PeerResults, pick: (name: string) => number | undefined): Record<string, number | undefined> {
  return Object.fromEntries(names(results).map((name) => [name, pick(name)]));
}

function added(values: Record<string, number | undefined>): Record<string, number | undefined> {
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [name, name === 'direct' ? undefined : difference(value, values.direct)]));
}

/** Median over a contender's rounds at one level. */
function jsonFigure(results: PeerResults, name: string, connections: number, pick: (run: PeerJsonRun) => number | undefined): number | undefined {
  const values = results.json
    .filter((run) => run.contender === name && run.connections === connections)
    .map(pick)
    .filter((value): value is number => value !== undefined);
  return median(values);
}

function mib(kb: number | undefined): number | undefined {
  return kb === undefined ? undefined : kb / KB_PER_MIB;
}

export function buildPeerRows(results: PeerResults): PeerRow[] {
  const rows: PeerRow[] = [];
  const row = (section: string, label: string, unit: string, values: Record<string, number | undefined>): void => {
    rows.push({ section, label, unit, values });
  };
  const latency = (connections: number, key: 'p50' | 'p99') => byContender(results, (name) => jsonFigure(results, name, connections, (run) => run.wrk.latencyMs[key]));
  const rps = (connections: number) => byContender(results, (name) => jsonFigure(results, name, connections, (run) => run.wrk.requestsPerSec));

  const one = 'plain JSON, 1 connection (wrk)';
  row(one, 'latency p50', 'ms', latency(1, 'p50'));
  row(one, 'latency p99', 'ms', latency(1, 'p99'));
  row(one, 'added latency p50', 'ms', added(latency(1, 'p50')));
  row(one, 'added latency p99', 'ms', added(latency(1, 'p99')));
  for (const connections of [16, 64]) {
    const section = `plain JSON, ${connections} connections (wrk)`;
    row(section, 'requests per second', 'req/s', rps(connections));
    row(section, 'latency p50', 'ms', latency(connections, 'p50'));
    row(section, 'latency p99', 'ms', latency(connections, 'p99'));
  }

  const streams = (pick: (name: string) => number | undefined) => byContender(results, pick);
  const counted = results.streams.direct?.streams ?? 0;
  const streaming = `streaming, ${STREAM_CHUNKS} chunks ${STREAM_PACING_MS} ms apart (${counted} streams each)`;
  const ttfb50 = streams((name) => results.streams[name]?.ttfbMs?.p50);
  const gap99 = streams((name) => results.streams[name]?.gapMs?.p99);
  row(streaming, 'time to first byte p50', 'ms', ttfb50);
  row(streaming, 'time to first byte p99', 'ms', streams((name) => results.streams[name]?.ttfbMs?.p99));
  row(streaming, 'added time to first byte p50', 'ms', added(ttfb50));
  row(streaming, 'inter-chunk gap p50', 'ms', streams((name) => results.streams[name]?.gapMs?.p50));
  row(streaming, 'inter-chunk gap p99', 'ms', gap99);
  row(streaming, 'added inter-chunk gap p99', 'ms', added(gap99));
  row(streaming, 'inter-chunk gap max', 'ms', streams((name) => results.streams[name]?.gapMs?.max));
  // Kept-alive connections the server closed while the other contenders' rounds ran: those streams' first byte includes a connect.
  row(streaming, 'timed streams that had to reconnect', 'count', streams((name) => results.streams[name]?.newConnections));

  const resources = 'resources (each process, started fresh for this section)';
  row(resources, 'startup to ready (median)', 'ms', byContender(results, (name) => median(results.startupMs[name] ?? [])));
  row(resources, 'RSS idle (ready + 2 s)', 'MiB', byContender(results, (name) => mib(results.idleRssKb[name])));
  row(resources, 'of which anonymous (RssAnon)', 'MiB', byContender(results, (name) => mib(results.idleAnonKb[name])));
  row(resources, 'RSS peak through the load (VmHWM)', 'MiB', byContender(results, (name) => mib(results.peakRssKb[name])));
  row(resources, 'CPU per 1,000 requests at 16 conns (direct: origin)', 'ms', byContender(results, (name) => jsonFigure(results, name, 16, (run) => run.cpuMsPer1k)));
  row(
    resources,
    'CPU per 1,000 stream events relayed',
    'ms',
    byContender(results, (name) => {
      const cpu = results.streamCpu[name];
      return cpu && cpu.events > 0 ? (cpu.cpuMs / cpu.events) * 1000 : undefined;
    }),
  );
  return rows;
}

/** Peers can be hundreds of times off the sidecar: two decimals would show 0.00x. */
export function formatPeerRatio(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value) || Math.abs(value) >= 0.1) return formatRatio(value);
  return `${value.toPrecision(2)}x`;
}

function header(results: PeerResults): string[] {
  return ['figure', 'unit', ...names(results), ...peerNames(results).map((name) => `${name}/sidecar`)];
}

function cells(results: PeerResults, row: PeerRow): string[] {
  return [
    row.label,
    row.unit,
    ...names(results).map((name) => (row.unit === 'count' && row.values[name] !== undefined ? String(row.values[name]) : formatNumber(row.values[name]))),
    ...peerNames(results).map((name) => formatPeerRatio(ratio(row.values[name], row.values[REFERENCE]))),
  ];
}

/** What reached the provider, against what the direct client sent it. */
function upstreamBody(outcome: CaseOutcome, directBytes: number | undefined): string {
  if (outcome.upstreamBodyBytes === undefined) return '';
  if (outcome.upstreamBodySame) return '; provider got the same request body';
  return `; provider got another request body (${outcome.upstreamBodyBytes} bytes, direct ${directBytes ?? '—'})`;
}

/** The correctness table: one row per call, one column per contender but direct (the reference). */
export function correctnessRows(results: PeerResults): string[][] {
  const shown = names(results).filter((name) => name !== 'direct');
  return results.correctness.map((testCase) => [
    testCase.title,
    ...shown.map((name) => {
      const outcome = testCase.outcomes[name];
      if (!outcome) return '—';
      if (outcome.error) return `failed: ${outcome.error}`;
      const sent = upstreamBody(outcome, testCase.outcomes.direct?.upstreamBodyBytes);
      return outcome.comparison ? `${describeComparison(outcome.comparison)}${sent}` : '—';
    }),
  ]);
}

function escapeMarkdown(cell: string): string {
  return cell.replace(/\|/g, '\\|');
}

function markdownTable(head: readonly string[], body: readonly string[][], numeric: (column: number) => boolean): string[] {
  return [`| ${head.join(' | ')} |`, `|${head.map((_, column) => (numeric(column) ? '---:' : '---')).join('|')}|`, ...body.map((line) => `| ${line.map(escapeMarkdown).join(' | ')} |`)];
}

export function renderPeersMarkdown(results: PeerResults): string {
  const rows = buildPeerRows(results);
  const out: string[] = ['## Peers', ''];
  if (results.contenders.length > 2) {
    let section: string | undefined;
    let pending: string[][] = [];
    const flush = (): void => {
      if (section !== undefined) out.push(`### ${section}`, '', ...markdownTable(header(results), pending, (column) => column >= 2), '');
      pending = [];
    };
    for (const row of rows) {
      if (row.section !== section) {
        flush();
        section = row.section;
      }
      pending.push(cells(results, row));
    }
    flush();
  } else {
    out.push('No peer was measured.', '');
  }
  if (results.correctness.length > 0) {
    out.push('### Same bytes as a direct call?', '', ...markdownTable(['call', ...names(results).filter((name) => name !== 'direct')], correctnessRows(results), () => false), '');
  }
  out.push('### What ran', '', ...results.contenders.map((contender) => `- ${contender.name}: ${contender.description}`));
  out.push(...results.notMeasured.map((peer) => `- ${peer.name}: not measured, ${peer.reason}`), '');
  if (results.notes.length > 0) out.push('### Seen during the section', '', ...results.notes.map((note) => `- ${note}`), '');
  return `${out.join('\n')}\n`;
}

/** The same tables for the terminal. */
export function renderPeersText(results: PeerResults): string {
  const out: string[] = ['', 'peers (same run, same loads; ratios are the peer over the sidecar):'];
  if (results.contenders.length > 2) {
    const body = buildPeerRows(results).map((row) => ({ section: row.section, line: cells(results, row) }));
    const head = header(results);
    const widths = head.map((title, column) => Math.max(title.length, ...body.map(({ line }) => (line[column] ?? '').length)));
    const format = (line: readonly string[]): string =>
      line
        .map((cell, column) => (column >= 2 ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0)))
        .join('  ')
        .trimEnd();
    out.push(format(head));
    let section = '';
    for (const { section: next, line } of body) {
      if (next !== section) out.push(`[${(section = next)}]`);
      out.push(format(line));
    }
  }
  for (const [title, ...outcomes] of correctnessRows(results)) out.push(`same bytes as direct, ${title}: ${outcomes.map((cell, index) => `${names(results).filter((name) => name !== 'direct')[index]}: ${cell}`).join(' | ')}`);
  for (const peer of results.notMeasured) out.push(`${peer.name}: not measured, ${peer.reason}`);
  return `${out.join('\n')}\n`;
}
