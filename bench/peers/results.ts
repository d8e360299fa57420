/**
 * What the peers section measured, per contender (direct, the sidecar, each peer), in one run.
 */
import type { StreamFigures } from '../lib/streamStats';
import type { WrkResult } from '../lib/wrk';
import type { CaseResult } from './correctness';

/** One wrk round on one contender (as bench/lib/results.ts's JsonRun, for any contender name). */
export interface PeerJsonRun {
  contender: string;
  connections: number;
  round: number;
  wrk: WrkResult;
  /** CPU of the contender's process per 1,000 requests (direct: the origin's). */
  cpuMsPer1k?: number;
}

export interface ContenderInfo {
  name: string;
  description: string;
}

export interface PeerResults {
  /** In table order: direct, sidecar, then each peer that ran. */
  contenders: ContenderInfo[];
  /** Peers that were not measured, and why (install failed, did not start). */
  notMeasured: Array<{ name: string; reason: string }>;
  json: PeerJsonRun[];
  streams: Record<string, StreamFigures>;
  /** CPU of the contender's process while its timed streams ran, and the events relayed. */
  streamCpu: Record<string, { cpuMs: number; events: number }>;
  startupMs: Record<string, number[]>;
  idleRssKb: Record<string, number | undefined>;
  /** RssAnon at the same moment: what a further copy adds, its file pages being shared. */
  idleAnonKb: Record<string, number | undefined>;
  /** The larger of RSS sampled every 100 ms through the section's load and VmHWM. */
  peakRssKb: Record<string, number | undefined>;
  correctness: CaseResult[];
  /** Seen during the section and worth a look; they do not fail the bench. */
  notes: string[];
}
