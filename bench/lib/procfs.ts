/**
 * A process's memory, CPU time and open files, read from outside through /proc (Linux), so the
 * measured process runs unchanged. Parsers are pure; readers are one synchronous read each
 * (a few hundred bytes, cheap enough to poll every 100 ms).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface MemoryStatus {
  /** Resident set size now, kB. */
  rssKb: number;
  /** Peak resident set size over the process's life ("high water mark"), kB. */
  hwmKb: number;
  /**
   * RssAnon: the anonymous part (heap, stacks), which no other process shares; what each further
   * pod adds. Absent before Linux 4.5.
   */
  anonKb?: number;
  /** RssFile + RssShmem: pages of files (the node binary, libraries), shared by every process mapping them. */
  fileKb?: number;
}

export interface CpuTicks {
  /** User plus system time of all the process's threads, in clock ticks (see clockTicksPerSecond). */
  ticks: number;
  /** The system (kernel) part: syscalls, and on loopback the TCP work they do for both ends. */
  systemTicks: number;
}

/** A `Name:  123 kB` line of /proc/<pid>/status or smaps_rollup. */
function kbField(text: string, field: string): number | undefined {
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

/** VmRSS and VmHWM, and RssAnon, RssFile and RssShmem where the kernel has them, from /proc/<pid>/status text. */
export function parseProcStatus(text: string): MemoryStatus | undefined {
  const rssKb = kbField(text, 'VmRSS');
  const hwmKb = kbField(text, 'VmHWM');
  if (rssKb === undefined || hwmKb === undefined) return undefined;
  const anonKb = kbField(text, 'RssAnon');
  const fileKb = kbField(text, 'RssFile');
  const shmemKb = kbField(text, 'RssShmem');
  return { rssKb, hwmKb, anonKb, fileKb: fileKb === undefined ? undefined : fileKb + (shmemKb ?? 0) };
}

/**
 * /proc/<pid>/smaps_rollup: the process's mappings summed. Shared pages are counted in full in
 * Rss and divided by the number of processes mapping them in Pss; private ones (Private_*) are
 * mapped by this process alone, which for file pages depends on what else runs on the machine.
 */
export interface SmapsRollup {
  rssKb: number;
  pssKb: number;
  sharedCleanKb: number;
  sharedDirtyKb: number;
  privateCleanKb: number;
  privateDirtyKb: number;
  anonymousKb: number;
  swapKb: number;
}

const SMAPS_FIELDS: ReadonlyArray<[keyof SmapsRollup, string]> = [
  ['rssKb', 'Rss'],
  ['pssKb', 'Pss'],
  ['sharedCleanKb', 'Shared_Clean'],
  ['sharedDirtyKb', 'Shared_Dirty'],
  ['privateCleanKb', 'Private_Clean'],
  ['privateDirtyKb', 'Private_Dirty'],
  ['anonymousKb', 'Anonymous'],
  ['swapKb', 'Swap'],
];

/** smaps_rollup text (Linux 4.14+); undefined when any field is missing. */
export function parseSmapsRollup(text: string): SmapsRollup | undefined {
  const rollup: Partial<SmapsRollup> = {};
  for (const [key, field] of SMAPS_FIELDS) {
    const value = kbField(text, field);
    if (value === undefined) return undefined;
    rollup[key] = value;
  }
  return rollup as SmapsRollup;
}

/**
 * utime + stime from /proc/<pid>/stat text. The command name (field 2) is in parentheses and may
 * hold spaces or ')' itself, so fields are counted from the last ')'.
 */
export function parseProcStat(text: string): CpuTicks | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // After ")" come fields 3 (state) onwards; utime is field 14 and stime field 15.
  const fields = text.slice(close + 1).trim().split(/\s+/);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return { ticks: utime + stime, systemTicks: stime };
}

export interface SchedStat {
  /** Nanoseconds on a CPU. */
  onCpuNs: number;
  /** Nanoseconds runnable but waiting on a run queue: time the thread had work and no CPU to do it on. */
  runQueueNs: number;
}

/**
 * /proc/<pid>/schedstat text: on-CPU and run-queue nanoseconds. That file is the thread-group
 * leader's, so for Node the main thread alone (no GC helpers, no libuv pool), at scheduler-clock
 * resolution: fine enough for the CPU of one request, where stat's 10 ms ticks are not.
 */
export function parseSchedstat(text: string): SchedStat | undefined {
  const fields = text.trim().split(/\s+/);
  if (fields.length !== 3) return undefined;
  const onCpuNs = Number(fields[0]);
  const runQueueNs = Number(fields[1]);
  if (![onCpuNs, runQueueNs].every((ns) => Number.isSafeInteger(ns) && ns >= 0)) return undefined;
  return { onCpuNs, runQueueNs };
}

/** The whole machine's CPU time from /proc/stat, in clock ticks summed over all CPUs. */
export interface MachineCpu {
  totalTicks: number;
  /**
   * Time the hypervisor ran something else while this VM had work for the CPU: on a shared host
   * it slows every process alike, which is why the bench reports it beside its figures.
   */
  stealTicks: number;
}

/**
 * The aggregate "cpu" line of /proc/stat: user nice system idle iowait irq softirq steal [guest
 * guest_nice]. guest time is already counted in user, so the total is the first eight fields.
 */
export function parseMachineCpu(text: string): MachineCpu | undefined {
  const line = /^cpu\s+([\d ]+)$/m.exec(text);
  if (!line) return undefined;
  const fields = (line[1] as string).trim().split(/\s+/).map(Number);
  if (fields.length < 8) return undefined;
  const counted = fields.slice(0, 8);
  return { totalTicks: counted.reduce((sum, ticks) => sum + ticks, 0), stealTicks: counted[7] as number };
}

/** Share (0..1) of the machine's CPU time between two readings that the host took; undefined over no time. */
export function stealShare(before: MachineCpu, after: MachineCpu): number | undefined {
  const total = after.totalTicks - before.totalTicks;
  return total > 0 ? (after.stealTicks - before.stealTicks) / total : undefined;
}

export function readMemory(pid: number): MemoryStatus | undefined {
  try {
    return parseProcStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * A walk of the process's page tables under its memory-map lock, far dearer than the status read:
 * read it at phase ends, not while sampling.
 */
export function readSmapsRollup(pid: number): SmapsRollup | undefined {
  try {
    return parseSmapsRollup(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  } catch {
    return undefined;
  }
}

export function readCpuTicks(pid: number): CpuTicks | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

export function readMainThreadSchedstat(pid: number): SchedStat | undefined {
  try {
    return parseSchedstat(readFileSync(`/proc/${pid}/schedstat`, 'utf8'));
  } catch {
    return undefined;
  }
}

export function readMachineCpu(): MachineCpu | undefined {
  try {
    return parseMachineCpu(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return undefined;
  }
}

export function countOpenFds(pid: number): number | undefined {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

let ticksPerSecond: number | undefined;

/** USER_HZ, almost always 100 (so CPU time has 10 ms resolution: measure over many requests). */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5_000 }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * Samples a process's RSS (and its anonymous part) at a fixed interval until stopped; the peak is
 * the largest sample (VmHWM cannot be reset, so a peak for one phase must be sampled).
 */
export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  private peak = 0;
  private phasePeak = 0;
  private anonPeak: number | undefined;
  private readonly samples: number[] = [];

  constructor(
    private readonly pid: number,
    private readonly intervalMs: number,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    return this;
  }

  /** Stops sampling; returns the peak and every sample, in kB. */
  stop(): { peakKb: number; samplesKb: number[] } {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    return { peakKb: this.peak, samplesKb: [...this.samples] };
  }

  /**
   * Stops sampling; the larger of the sampled peak and VmHWM, the kernel's own high-water mark, in
   * kB. A spike shorter than the interval shows only in VmHWM (such as V8 compiling undici's wasm
   * parser in the background after the first call, before --liftoff-only).
   * VmHWM covers the process's whole life, which for a memory limit is what counts.
   */
  stopAtHighWaterMark(): number {
    return Math.max(this.stop().peakKb, readMemory(this.pid)?.hwmKb ?? 0);
  }

  /**
   * The largest anonymous part (RssAnon) sampled so far, kB: there is no kernel high-water mark
   * for it, so a spike shorter than the interval is missed. Undefined where the kernel has no RssAnon.
   */
  get anonymousPeakKb(): number | undefined {
    return this.anonPeak;
  }

  /** The peak since the last call (or since start), in kB: which phase of the load drives the peak. */
  endPhase(): number {
    this.sample();
    const peak = this.phasePeak;
    this.phasePeak = 0;
    return peak;
  }

  private sample(): void {
    const memory = readMemory(this.pid);
    if (!memory) return;
    this.samples.push(memory.rssKb);
    if (memory.rssKb > this.peak) this.peak = memory.rssKb;
    if (memory.rssKb > this.phasePeak) this.phasePeak = memory.rssKb;
    if (memory.anonKb !== undefined && memory.anonKb > (this.anonPeak ?? 0)) this.anonPeak = memory.anonKb;
  }
}

/** Runs `work` and returns the CPU `pid` used meanwhile (nothing when it cannot be read). */
export async function withCpu<T>(pid: number | undefined, work: () => Promise<T>): Promise<{ value: T; used?: CpuTicks }> {
  const before = pid === undefined ? undefined : readCpuTicks(pid);
  const value = await work();
  const after = pid === undefined ? undefined : readCpuTicks(pid);
  if (before === undefined || after === undefined) return { value };
  return { value, used: { ticks: after.ticks - before.ticks, systemTicks: after.systemTicks - before.systemTicks } };
}

export function ticksToMs(ticks: number): number {
  return (ticks / clockTicksPerSecond()) * 1000;
}
