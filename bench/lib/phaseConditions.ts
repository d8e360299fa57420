/**
 * What the machine did to a phase of the bench: the share of CPU time the hypervisor gave to
 * other guests (steal), and how long the sidecar's main thread sat runnable with no CPU to run on.
 * On a shared 2-core VM both swing from run to run and move every latency figure with them, so
 * the bench prints them beside its figures instead of leaving a slow run unexplained.
 */
import { readMachineCpu, readMainThreadSchedstat, stealShare, type MachineCpu, type SchedStat } from './procfs';

export interface PhaseConditions {
  /** 0..1 of the machine's CPU time; undefined where /proc/stat could not be read. */
  steal?: number;
  /** Milliseconds per second of the phase that the sidecar's main thread waited on a run queue. */
  runQueueMsPerS?: number;
}

export interface ConditionReading {
  atMs: number;
  machine?: MachineCpu;
  sidecar?: SchedStat;
}

/** Above this share of stolen CPU, the run says so: absolute figures then drift more than ratios. */
export const NOTABLE_STEAL = 0.05;

export function readConditions(sidecarPid: number): ConditionReading {
  return { atMs: performance.now(), machine: readMachineCpu(), sidecar: readMainThreadSchedstat(sidecarPid) };
}

export function conditionsBetween(before: ConditionReading, after: ConditionReading): PhaseConditions {
  const seconds = (after.atMs - before.atMs) / 1000;
  const steal = before.machine && after.machine ? stealShare(before.machine, after.machine) : undefined;
  const waitedNs = before.sidecar && after.sidecar ? after.sidecar.runQueueNs - before.sidecar.runQueueNs : undefined;
  return {
    ...(steal === undefined ? {} : { steal }),
    ...(waitedNs === undefined || seconds <= 0 ? {} : { runQueueMsPerS: waitedNs / 1e6 / seconds }),
  };
}
