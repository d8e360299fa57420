/**
 * Command-line options of `make bench` and `make soak` (node:util parseArgs), each bounded so
 * no flag can make a run unbounded. Pure: throws OptionsError with one line to show.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class OptionsError extends Error {
  override readonly name = 'OptionsError';
  readonly code = 'BENCH_BAD_OPTION';
}

export interface BenchOptions {
  help: boolean;
  quick: boolean;
  /** Seconds of wrk per path, load level and round. */
  durationS: number;
  /**
   * Rounds per load level, the paths' order rotated each round; figures are medians over rounds
   * (streams: pooled), so a burst of noise on a shared machine lands in one round of one path.
   */
  rounds: number;
  /** Seconds of wrk per path and warm-up load (16 connections, then 1) before measuring (JIT, connection pools). */
  warmupS: number;
  /**
   * Seconds of the same load on the same path run just before each timed wrk or 1-connection
   * round and not counted: a round then measures the path running, not its first milliseconds
   * after sitting idle through the other paths' rounds.
   */
  leadInS: number;
  /** Streams timed per path. */
  streams: number;
  streamConcurrency: number;
  /** Sidecar starts timed (the first is the one measured afterwards). */
  startups: number;
  /** Only profile the sidecar (node --cpu-prof) under the 16-connection load. */
  profile: boolean;
  /** After the benchmark, the peers section: LiteLLM, Portkey and the sidecar under the same loads (../peers/run.ts). */
  peers: boolean;
  /** Only the pipeline section: series per pod, bytes per export, collector CPU, Receive memory. */
  pipeline: boolean;
  /** Only the memory section: one sidecar's RSS, anonymous memory and memory cgroup, phase by phase (../memory.ts). */
  memory: boolean;
  /** Pipeline section: seconds each collector load level is measured. */
  levelSeconds: number;
  resultsDir?: string;
  keepTemp: boolean;
}

export interface SoakOptions {
  help: boolean;
  minutes: number;
  /** Requests started per second, whatever the answers' pace (open loop). */
  rate: number;
  /** Share of requests that are paced streams, 0..1. */
  streamShare: number;
  resultsDir?: string;
  keepTemp: boolean;
}

function bounded(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
    throw new OptionsError(`--${name} must be a number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function integer(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  const value = bounded(name, raw, fallback, min, max);
  if (!Number.isInteger(value)) throw new OptionsError(`--${name} must be a whole number, got "${raw}"`);
  return value;
}

function parse(argv: readonly string[], options: NonNullable<ParseArgsConfig['options']>): Record<string, string | boolean | undefined> {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>;
  } catch (error) {
    throw new OptionsError(error instanceof Error ? error.message : String(error));
  }
}

const text = (value: string | boolean | undefined): string | undefined => (typeof value === 'string' ? value : undefined);

export const BENCH_USAGE = `usage: node dist/bench/main.js [--quick] [--duration S] [--rounds N] [--warmup S] [--lead-in S] [--streams N]
       [--stream-concurrency N] [--startups N] [--profile] [--peers] [--pipeline [--level-seconds S]] [--memory] [--results DIR] [--keep-temp]
  --quick               shorter, noisier runs (3 rounds of 1 s, 16 streams): about 3 minutes
  --duration S          seconds of wrk per path, load level and round (default 2; 1..60)
  --rounds N            rounds per load level, paths in rotated order (default 5; 1..20)
  --warmup S            seconds of each warm-up load (16 conns, then 1) per path (default 2; 0..30)
  --lead-in S           seconds of the same load, not counted, just before each timed round (default 1; 0..10)
  --streams N           streams timed per path (default 40; 1..400)
  --stream-concurrency  streams at once (default 8; 1..64)
  --startups N          sidecar starts timed for startup-to-ready (default 3; 1..10)
  --profile             instead of the benchmark: node --cpu-prof on the sidecar under 16 connections
  --peers               then the peers section: LiteLLM proxy and Portkey gateway beside a fresh sidecar under the
                        same loads, and whether each gives the client a direct call's bytes (installs them into
                        .cache/peers with scripts/peers-env.sh first); 3 to 6 minutes more
  --pipeline            instead of the benchmark: what the metrics pipeline costs per pod (series, bytes per
                        export, collector CPU, Thanos Receive memory); needs make collector prometheus-tools
                        thanos-tools; about 3 minutes (--quick: 2)
  --level-seconds S     --pipeline: seconds each collector load level is measured (default 20, --quick 8; 5..120)
  --memory              instead of the benchmark: one sidecar's memory in a memory cgroup (needs root for the
                        cgroup figures), idle and through each load; about 1 minute (--quick: 30 s)
  --results DIR         where results go (default <repo>/results)
  --keep-temp           keep the temp dir (configs, logs) for inspection`;

export function parseBenchOptions(argv: readonly string[]): BenchOptions {
  const values = parse(argv, {
    help: { type: 'boolean' },
    quick: { type: 'boolean' },
    duration: { type: 'string' },
    rounds: { type: 'string' },
    warmup: { type: 'string' },
    'lead-in': { type: 'string' },
    streams: { type: 'string' },
    'stream-concurrency': { type: 'string' },
    startups: { type: 'string' },
    profile: { type: 'boolean' },
    peers: { type: 'boolean' },
    pipeline: { type: 'boolean' },
    memory: { type: 'boolean' },
    'level-seconds': { type: 'string' },
    results: { type: 'string' },
    'keep-temp': { type: 'boolean' },
  });
  const quick = values.quick === true;
  return {
    help: values.help === true,
    quick,
    durationS: integer('duration', text(values.duration), quick ? 1 : 2, 1, 60),
    rounds: integer('rounds', text(values.rounds), quick ? 3 : 5, 1, 20),
    warmupS: integer('warmup', text(values.warmup), quick ? 1 : 2, 0, 30),
    leadInS: integer('lead-in', text(values['lead-in']), 1, 0, 10),
    streams: integer('streams', text(values.streams), quick ? 16 : 40, 1, 400),
    streamConcurrency: integer('stream-concurrency', text(values['stream-concurrency']), 8, 1, 64),
    startups: integer('startups', text(values.startups), quick ? 1 : 3, 1, 10),
    profile: values.profile === true,
    peers: values.peers === true,
    pipeline: values.pipeline === true,
    memory: values.memory === true,
    levelSeconds: integer('level-seconds', text(values['level-seconds']), quick ? 8 : 20, 5, 120),
    resultsDir: text(values.results),
    keepTemp: values['keep-temp'] === true,
  };
}

export const SOAK_USAGE = `usage: node dist/bench/soak.js [--minutes M] [--rate N] [--stream-share F] [--results DIR] [--keep-temp]
  --minutes M        length of the steady run (default 5; 0.5..60)
  --rate N           requests started per second (default 200; 1..2000)
  --stream-share F   share of them that are paced streams (default 0.1; 0..1)
  --results DIR      where results go (default <repo>/results)
  --keep-temp        keep the temp dir (configs, logs) for inspection`;

export function parseSoakOptions(argv: readonly string[]): SoakOptions {
  const values = parse(argv, {
    help: { type: 'boolean' },
    minutes: { type: 'string' },
    rate: { type: 'string' },
    'stream-share': { type: 'string' },
    results: { type: 'string' },
    'keep-temp': { type: 'boolean' },
  });
  return {
    help: values.help === true,
    minutes: bounded('minutes', text(values.minutes), 5, 0.5, 60),
    rate: integer('rate', text(values.rate), 200, 1, 2000),
    streamShare: bounded('stream-share', text(values['stream-share']), 0.1, 0, 1),
    resultsDir: text(values.results),
    keepTemp: values['keep-temp'] === true,
  };
}
