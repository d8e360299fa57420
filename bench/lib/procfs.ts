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
}

export interface CpuTicks {
  /** User plus system time of all the process's threads, in clock ticks (see clockTicksPerSecond). */
  ticks: number;
  /** The system (kernel) part: syscalls, and on loopback the TCP work they do for both ends. */
  systemTicks: number;
}

/** VmRSS and VmHWM from /proc/<pid>/status text. */
export function parseProcStatus(text: string): MemoryStatus | undefined {
  const rss = /^VmRSS:\s+(\d+)\s+kB$/m.exec(text);
  const hwm = /^VmHWM:\s+(\d+)\s+kB$/m.exec(text);
  if (!rss || !hwm) return undefined;
  return { rssKb: Number(rss[1]), hwmKb: Number(hwm[1]) };
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
 * Samples a process's RSS at a fixed interval until stopped; the peak is the largest sample
 * (VmHWM cannot be reset, so a peak for one phase must be sampled).
 */
export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  private peak = 0;
  private phasePeak = 0;
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
  }
}
