/**
 * `--memory`: what one sidecar costs a pod, phase by phase, in the figures different tools show:
 * RSS (`top`), its anonymous part (what each further pod adds), and a memory cgroup's usage and
 * working set (the container limit, `kubectl top`, eviction). Pure: figures, peaks and Markdown.
 */
import type { CgroupMemory } from './memoryStat';
import type { MemoryStatus, SmapsRollup } from './procfs';
import { formatNumber } from './table';

/** One reading, or the peak of each figure over a phase's samples. Absent is not zero: a figure not read stays undefined. */
export interface MemoryFigures {
  rssKb?: number;
  anonKb?: number;
  /** The process's file-backed pages: the node binary and libraries, shared with every process mapping them. */
  fileKb?: number;
  /** smaps_rollup, readings only (a page-table walk, too slow to sample). */
  pssKb?: number;
  privateKb?: number;
  usageBytes?: number;
  cgroupAnonBytes?: number;
  cgroupFileBytes?: number;
  workingSetBytes?: number;
}

export function memoryFigures(status: MemoryStatus | undefined, cgroup: CgroupMemory | undefined, smaps?: SmapsRollup): MemoryFigures {
  return {
    rssKb: status?.rssKb,
    anonKb: status?.anonKb,
    fileKb: status?.fileKb,
    pssKb: smaps?.pssKb,
    privateKb: smaps === undefined ? undefined : smaps.privateCleanKb + smaps.privateDirtyKb,
    usageBytes: cgroup?.usageBytes,
    cgroupAnonBytes: cgroup?.anonBytes,
    cgroupFileBytes: cgroup?.fileBytes,
    workingSetBytes: cgroup?.workingSetBytes,
  };
}

const FIGURE_KEYS = ['rssKb', 'anonKb', 'fileKb', 'pssKb', 'privateKb', 'usageBytes', 'cgroupAnonBytes', 'cgroupFileBytes', 'workingSetBytes'] as const;

/** Each figure's own largest value over the samples: the peaks need not fall on the same sample. */
export function peakOf(samples: readonly MemoryFigures[]): MemoryFigures {
  const peak: MemoryFigures = {};
  for (const key of FIGURE_KEYS) {
    const values = samples.map((sample) => sample[key]).filter((value): value is number => value !== undefined);
    if (values.length > 0) peak[key] = Math.max(...values);
  }
  return peak;
}

export interface MemoryPhase {
  name: string;
  /** `reading`: one reading after the process settled; `peak`: the largest of samples taken through the load. */
  kind: 'reading' | 'peak';
  figures: MemoryFigures;
}

export interface MemoryResults {
  meta: Record<string, string | number | boolean>;
  /** Why there are no cgroup figures, when there are none. */
  cgroupUnavailable?: string;
  /** The group's hard limit: the injector's default memory limit. */
  limitBytes: number;
  phases: MemoryPhase[];
  /** A second sidecar started in the same group, the first idle: what the group held before and after, and the second's own figures. */
  second?: { before: MemoryFigures; after: MemoryFigures; itself: MemoryFigures };
  limitHits?: number;
  oomKills?: number;
  problems: string[];
}

const MIB = 1024 * 1024;
const fromKb = (kb: number | undefined): string => formatNumber(kb === undefined ? undefined : kb / 1024);
const fromBytes = (bytes: number | undefined): string => formatNumber(bytes === undefined ? undefined : bytes / MIB);
const difference = (after: number | undefined, before: number | undefined): number | undefined => (after === undefined || before === undefined ? undefined : after - before);

function phaseTable(phases: readonly MemoryPhase[]): string[] {
  const lines = [
    '| phase | RSS | anonymous (RssAnon) | file-backed | cgroup usage | cgroup anonymous | cgroup page cache | working set (usage - inactive file) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const { name, kind, figures: f } of phases) {
    const label = kind === 'peak' ? `${name} (peak)` : name;
    lines.push(`| ${label} | ${fromKb(f.rssKb)} | ${fromKb(f.anonKb)} | ${fromKb(f.fileKb)} | ${fromBytes(f.usageBytes)} | ${fromBytes(f.cgroupAnonBytes)} | ${fromBytes(f.cgroupFileBytes)} | ${fromBytes(f.workingSetBytes)} |`);
  }
  return lines;
}

function secondTable(second: NonNullable<MemoryResults['second']>): string[] {
  const { before, after, itself } = second;
  const row = (label: string, pick: (figures: MemoryFigures) => number | undefined): string =>
    `| ${label} | ${fromBytes(pick(before))} | ${fromBytes(pick(after))} | ${fromBytes(difference(pick(after), pick(before)))} |`;
  return [
    '| group | first sidecar alone | both | added by the second |',
    '|---|---:|---:|---:|',
    row('usage', (f) => f.usageBytes),
    row('anonymous', (f) => f.cgroupAnonBytes),
    row('page cache', (f) => f.cgroupFileBytes),
    row('working set', (f) => f.workingSetBytes),
    '',
    `The second sidecar itself: RSS ${fromKb(itself.rssKb)} MiB, of which anonymous ${fromKb(itself.anonKb)} MiB and file-backed ${fromKb(itself.fileKb)} MiB; PSS ${fromKb(itself.pssKb)} MiB.`,
  ];
}

export const MEMORY_METHOD_NOTES = [
  'One sidecar runs as the image runs it (its node flags, metrics exported every second to a local OTLP sink) inside a memory cgroup of its own whose hard limit is the injector\'s default memory limit, no swap, as a pod\'s container runs. It is started from a fresh copy of the node binary whose page cache was dropped, so the group is charged for the binary\'s pages it reads, as the first sidecar on a node is; later pods that run the same image layer find those pages cached and are not charged again.',
  'RSS, RssAnon and RssFile come from /proc/<pid>/status, PSS and private pages from /proc/<pid>/smaps_rollup (readings only); the group\'s usage and memory.stat (v1: usage_in_bytes, total_rss, total_cache, total_inactive_file; v2: memory.current, anon, file, inactive_file). The working set is usage minus inactive file pages, as cAdvisor computes it for `kubectl top` and the kubelet\'s eviction.',
  'Load phases are sampled every 20 ms and each figure is its own peak over the phase; the group\'s usage peak also takes the kernel\'s high-water mark where it can be reset per phase (v1). Readings are taken 2 s after start and 5 s after the last load.',
];

export function renderMemoryMarkdown(results: MemoryResults): string {
  const meta = Object.entries(results.meta).map(([key, value]) => `- ${key}: ${String(value)}`);
  const limit = `${formatNumber(results.limitBytes / MIB)} MiB`;
  const limitLine = results.cgroupUnavailable
    ? `No memory cgroup: ${results.cgroupUnavailable}. The cgroup columns are empty.`
    : `Group limit ${limit}: reached ${results.limitHits ?? '—'} times, OOM kills ${results.oomKills ?? '—'}.`;
  return [
    '# genai-sidecar memory: what a pod pays (MiB)',
    '',
    ...meta,
    '',
    '## One sidecar, phase by phase',
    '',
    ...phaseTable(results.phases),
    '',
    limitLine,
    '',
    ...(results.second ? ['## A second sidecar in the same group', '', ...secondTable(results.second), ''] : []),
    '## Problems seen during the run',
    '',
    ...(results.problems.length > 0 ? results.problems.map((problem) => `- ${problem}`) : ['- none']),
    '',
    '## Method',
    '',
    ...MEMORY_METHOD_NOTES.map((note) => `- ${note}`),
    '',
  ].join('\n');
}
