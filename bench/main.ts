/**
 * `make bench`: the sidecar side by side with direct calls and with nginx, on loopback, every
 * loop bounded. Prints the table and writes results/bench-<timestamp>.{json,md} and
 * results/latest.{json,md}. `--profile` instead profiles the sidecar (see ./profile.ts).
 */
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { runStreams, timeOneStream, type StreamRequest, type StreamRun } from './clients/streams';
import { postBigEvent, postChat, postLarge } from './clients/oneShot';
import { runTimedLoop } from './clients/timedLoop';
import { runWrk, writeWrkScript } from './clients/wrk';
import { closeOnSignals, proxiedUrls, startEnvironment, type BenchEnvironment } from './environment';
import { optionsOrExitCode } from './commandLine';
import { BENCH_USAGE, parseBenchOptions, type BenchOptions } from './lib/options';
import { EVENTS_PER_STREAM, LONG_PROMPT_STREAM_REQUEST, STREAM_CHUNKS_HEADER, STREAM_DURATION_MS, STREAM_PACING_MS } from './lib/payloads';
import { conditionsBetween, NOTABLE_STEAL, readConditions } from './lib/phaseConditions';
import { renderPipelineMarkdown } from './lib/pipelineReport';
import { readMainThreadSchedstat, readMemory, readSmapsRollup, RssSampler, ticksToMs, withCpu, type CpuTicks } from './lib/procfs';
import { renderMarkdownReport, renderTerminalSummary } from './lib/report';
import { buildRows, PATHS, type BenchResults, type JsonRun, type PathName } from './lib/results';
import { roundOrder, splitAcrossRounds } from './lib/rounds';
import { streamStartOffsets } from './lib/streamSchedule';
import { streamFigures, type StreamFailure, type StreamSample } from './lib/streamStats';
import { median, summarize } from './lib/stats';
import { formatNumber } from './lib/table';
import { totalErrors } from './lib/wrk';
import { writeResults } from './output';
import { memorySection } from './memory';
import { renderPeersMarkdown, renderPeersText } from './peers/report';
import { runPeersSection } from './peers/run';
import { runPipelineBench } from './pipeline/run';
import { profileSidecar } from './profile';
import { measureScrape } from './scrape';
import { repoRoot } from './tools';

const EXPORT_INTERVAL_MS = 1_000;
const IDLE_SETTLE_MS = 2_000;
const CONNECTION_LEVELS = [1, 16, 64] as const;
const WARM_UP_CONNECTIONS = [16, 1] as const;
/**
 * Growth that stops rising past some size is slack (GC, buffers); growth that keeps rising is
 * buffering. 200 MiB is four times the 50 MiB size: buffering would grow with it, slack would not.
 */
const LARGE_ANSWER_BYTES = [1, 10, 50, 200].map((mib) => mib * 1024 * 1024);
const LARGE_ANSWER_REPEATS = 3;
const LARGE_ANSWER_SETTLE_MS = 500;
const STREAM_TIMEOUT_MS = 15_000;
const STREAM_WARM_UP_CONCURRENCY = 64;
/** Bound on one timed 1-connection loop whatever its duration (direct does ~70,000 in 2 s here). */
const TIMED_LOOP_MAX_REQUESTS = 500_000;
const LONE_REQUESTS = 60;
const LONE_REQUEST_GAP_MS = 100;
/** Long-prompt streams timed per path (split across rounds), each 4 chunks, LONE_REQUEST_GAP_MS apart. */
const LONG_PROMPT_STREAMS = 30;
const LONG_PROMPT_STREAM: StreamRequest = { body: LONG_PROMPT_STREAM_REQUEST, headers: { [STREAM_CHUNKS_HEADER]: '4' } };
/** Streams of one 3 MiB event in 1 KiB pieces timed per path (split across rounds), LONE_REQUEST_GAP_MS apart. */
const BIG_EVENT_STREAMS = 5;
const BIG_EVENT_BYTES = 3 * 1024 * 1024;

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The process doing each path's work: what its CPU time is read from. */
function workerPid(env: BenchEnvironment, pathName: PathName): number | undefined {
  if (pathName === 'direct') return env.origin.child.pid;
  if (pathName === 'sidecar') return env.sidecar.child.pid;
  if (pathName === 'bare') return env.bare?.child.pid;
  return env.proxy?.child.pid;
}

function gitDescription(root: string): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8', timeout: 5_000 }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: root, encoding: 'utf8', timeout: 5_000 }).trim() !== '';
    return dirty ? `${commit} + uncommitted changes in src/` : commit;
  } catch {
    return 'unknown';
  }
}

function describeRun(env: BenchEnvironment, options: BenchOptions): BenchResults['meta'] {
  return {
    date: new Date().toISOString(),
    mode: options.quick ? 'quick' : 'full',
    sidecar: gitDescription(env.root),
    node: process.version,
    cpu: `${os.cpus()[0]?.model ?? 'unknown'} x ${os.cpus().length}`,
    'load average at start (1 min)': os.loadavg()[0]?.toFixed(2) ?? '',
    wrk: env.tools.wrkVersion,
    nginx: env.tools.nginxVersion,
    'wrk seconds per path, level and round': options.durationS,
    'rounds per level (paths rotated; figures are medians over rounds, streams pooled)': options.rounds,
    'warm-up seconds per path': options.warmupS,
    'lead-in seconds before each timed wrk or 1-connection round (same load, not counted)': options.leadInS,
    'streams per path': `${options.streams} (${options.streamConcurrency} at once)`,
    'sidecar export interval ms': EXPORT_INTERVAL_MS,
  };
}

async function measureStartups(env: BenchEnvironment, options: BenchOptions, results: BenchResults): Promise<void> {
  const startups = [env.sidecar.readyMs];
  for (let index = 1; index < options.startups; index += 1) {
    const extra = await env.startAnotherSidecar(`startup${index}`);
    startups.push(extra.readyMs);
    await extra.child.stop();
  }
  results.resources.startupMs = { sidecar: startups, ...(env.proxy ? { nginx: [env.proxy.readyMs] } : {}) };
  log(`startup to ready: sidecar ${startups.map((ms) => ms.toFixed(0)).join(', ')} ms; nginx ${env.proxy?.readyMs.toFixed(0) ?? '-'} ms`);
}

/** The processes whose memory is measured: every path's but direct's (its origin serves every path). */
function memoryPids(env: BenchEnvironment, paths: readonly PathName[]): Array<[PathName, number]> {
  return paths.flatMap((pathName) => {
    const pid = pathName === 'direct' ? undefined : workerPid(env, pathName);
    return pid === undefined ? [] : [[pathName, pid] as [PathName, number]];
  });
}

/** RSS and its anonymous part (what each further pod adds; the rest is shared file pages), and smaps_rollup for the JSON. */
function measureIdle(env: BenchEnvironment, results: BenchResults, paths: readonly PathName[]): void {
  const { resources } = results;
  for (const [pathName, pid] of memoryPids(env, paths)) {
    const memory = readMemory(pid);
    resources.idleRssKb[pathName] = memory?.rssKb;
    resources.idleAnonKb[pathName] = memory?.anonKb;
    const smaps = readSmapsRollup(pid);
    if (smaps) resources.idleSmaps[pathName] = smaps;
    log(`idle ${pathName}: RSS ${formatNumber((memory?.rssKb ?? 0) / 1024)} MiB, anonymous ${formatNumber((memory?.anonKb ?? 0) / 1024)} MiB`);
  }
}

/** CPU per 1,000 requests and the kernel's share of it (10 ms ticks: only meaningful summed over many events). */
function cpuFigures(used: CpuTicks | undefined, requests: number): Pick<JsonRun, 'cpuMsPer1k' | 'cpuSystemShare'> {
  if (used === undefined || requests === 0) return {};
  return {
    cpuMsPer1k: ticksToMs(used.ticks) / (requests / 1000),
    cpuSystemShare: used.ticks > 0 ? used.systemTicks / used.ticks : undefined,
  };
}

async function jsonRun(env: BenchEnvironment, script: string, pathName: PathName, connections: number, round: number, durationS: number): Promise<JsonRun> {
  const url = env.urls[pathName]?.json as string;
  const { value: wrk, used } = await withCpu(workerPid(env, pathName), () => runWrk(env.tools.wrk, script, { url, connections, durationS }));
  const run: JsonRun = { path: pathName, connections, round, wrk, ...cpuFigures(used, wrk.requests) };
  log(
    `${String(connections).padStart(2)} conns round ${round + 1} ${pathName.padEnd(7)} ${formatNumber(wrk.requestsPerSec).padStart(7)} req/s  p50 ${formatNumber(wrk.latencyMs.p50)} ms  p99 ${formatNumber(wrk.latencyMs.p99)} ms  cpu/1k ${formatNumber(run.cpuMsPer1k)} ms (${formatNumber((run.cpuSystemShare ?? 0) * 100)}% kernel)`,
  );
  return run;
}

async function measureJson(env: BenchEnvironment, options: BenchOptions, results: BenchResults, paths: readonly PathName[]): Promise<void> {
  const script = writeWrkScript(env.dir);
  // Warm-up as the measurement goes on: many connections, then one, each opened and closed. A
  // JIT warms per code path; the first close of many connections and the first one-connection
  // traffic deoptimise code that ran only one way before (seen with --trace-deopt).
  if (options.warmupS > 0) {
    for (const pathName of paths) {
      for (const connections of WARM_UP_CONNECTIONS) await runWrk(env.tools.wrk, script, { url: env.urls[pathName]?.json as string, connections, durationS: options.warmupS });
    }
  }
  // Rounds per load level, paths rotated each round, so drift on a shared machine hits every path alike.
  for (const connections of CONNECTION_LEVELS) {
    for (let round = 0; round < options.rounds; round += 1) {
      for (const pathName of roundOrder(paths, round)) {
        // Not counted: a path idle through the other paths' rounds runs slow for its first tens of
        // milliseconds, and in 2 s rounds at 1 connection that start was the sidecar's p99.
        if (options.leadInS > 0) await runWrk(env.tools.wrk, script, { url: env.urls[pathName]?.json as string, connections, durationS: options.leadInS });
        const run = await jsonRun(env, script, pathName, connections, round, options.durationS);
        results.json.push(run);
        const errors = totalErrors(run.wrk.errors);
        if (errors > 0) results.problems.push(`${pathName} at ${connections} connections, round ${round + 1}: ${errors} errors ${JSON.stringify(run.wrk.errors)}`);
      }
    }
  }
}

/**
 * The 1-connection load again, each request timed by a lean client of our own instead of wrk, in
 * rounds with the paths rotated: what a lone caller waits, without wrk's own scheduling in its tail.
 */
async function measureTimedLoops(env: BenchEnvironment, options: BenchOptions, results: BenchResults, paths: readonly PathName[]): Promise<void> {
  const durationMs = options.durationS * 1000;
  for (let round = 0; round < options.rounds; round += 1) {
    for (const pathName of roundOrder(paths, round)) {
      const loopFor = (ms: number) => runTimedLoop({ url: env.urls[pathName]?.json as string, durationMs: ms, maxRequests: TIMED_LOOP_MAX_REQUESTS, timeoutMs: 5_000 });
      if (options.leadInS > 0) await loopFor(options.leadInS * 1000);
      const loop = await loopFor(durationMs);
      const summary = summarize(loop.latenciesMs);
      if (loop.failures > 0) results.problems.push(`${pathName}: ${loop.failures} timed 1-connection requests did not answer 200`);
      if (!summary) continue;
      const requestsPerSec = summary.count / options.durationS;
      results.timedLoops.push({ path: pathName, round, requestsPerSec, p50Ms: summary.p50, p99Ms: summary.p99 });
      log(`timed 1 conn round ${round + 1} ${pathName.padEnd(7)} ${formatNumber(requestsPerSec).padStart(7)} req/s  p50 ${formatNumber(summary.p50)} ms  p99 ${formatNumber(summary.p99)} ms`);
    }
  }
}

async function measureStreams(env: BenchEnvironment, options: BenchOptions, results: BenchResults, paths: readonly PathName[]): Promise<void> {
  const startOffsetsMs = streamStartOffsets(options.streamConcurrency, STREAM_DURATION_MS, STREAM_PACING_MS);
  // One agent per path for the whole phase: the timed streams reuse the connections the first
  // round opened. (A fresh agent per round had put a connection set-up into every timed first
  // byte, which the Node servers pay far more for than nginx.)
  const agents = new Map(paths.map((pathName) => [pathName, new http.Agent({ keepAlive: true, maxSockets: options.streamConcurrency })]));
  try {
    for (const pathName of paths) await warmUpStreams(env.urls[pathName]?.paced as string, startOffsetsMs);
    await timeStreamRounds(env, options, results, paths, (pathName, total) => ({
      url: env.urls[pathName]?.paced as string,
      agent: agents.get(pathName) as http.Agent,
      total,
      concurrency: options.streamConcurrency,
      timeoutMs: STREAM_TIMEOUT_MS,
      startOffsetsMs,
    }));
  } finally {
    for (const agent of agents.values()) agent.destroy();
  }
}

/**
 * Uncounted, per path: STREAM_WARM_UP_CONCURRENCY streams at once, about 4,000 events in 1.4 s,
 * so what is timed is code the JIT has compiled, as the JSON warm-up's wrk runs do for the other
 * phases. A few rounds of 8 streams had left the relaying code tiering up through the timed ones:
 * CPU per event fell round after round, for the bare forwarder as for the sidecar.
 */
async function warmUpStreams(url: string, startOffsetsMs: readonly number[]): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: STREAM_WARM_UP_CONCURRENCY });
  try {
    const offsets = Array.from({ length: STREAM_WARM_UP_CONCURRENCY }, (_, index) => startOffsetsMs[index % startOffsetsMs.length] ?? 0);
    await runStreams({ url, agent, total: STREAM_WARM_UP_CONCURRENCY, concurrency: STREAM_WARM_UP_CONCURRENCY, timeoutMs: STREAM_TIMEOUT_MS, startOffsetsMs: offsets });
  } finally {
    agent.destroy();
  }
}

async function timeStreamRounds(env: BenchEnvironment, options: BenchOptions, results: BenchResults, paths: readonly PathName[], run: (pathName: PathName, total: number) => StreamRun): Promise<void> {
  // One round first per path, not counted: connections opened, code paths warm.
  for (const pathName of paths) await runStreams(run(pathName, options.streamConcurrency));
  const samples: Partial<Record<PathName, Array<StreamSample | StreamFailure>>> = {};
  const perRound = splitAcrossRounds(options.streams, options.rounds);
  for (const [round, total] of perRound.entries()) {
    if (total === 0) continue;
    for (const pathName of roundOrder(paths, round)) {
      // The direct path's streams are served by this process itself: no separate CPU to read.
      const pid = pathName === 'direct' ? undefined : workerPid(env, pathName);
      const { value, used } = await withCpu(pid, () => runStreams(run(pathName, total)));
      (samples[pathName] ??= []).push(...value);
      if (used !== undefined) {
        const cpu = (results.streamCpu[pathName] ??= { cpuMs: 0, events: 0 });
        cpu.cpuMs += ticksToMs(used.ticks);
        cpu.events += value.reduce((events, sample) => events + ('events' in sample ? sample.events : 0), 0);
      }
    }
  }
  for (const pathName of paths) {
    const all = samples[pathName] ?? [];
    const figures = streamFigures(all, EVENTS_PER_STREAM);
    results.streams[pathName] = figures;
    log(
      `streams ${pathName.padEnd(7)} ttfb p50 ${formatNumber(figures.ttfbMs?.p50)} ms  gap p99 ${formatNumber(figures.gapMs?.p99)} ms  gap max ${formatNumber(figures.gapMs?.max)} ms  delivery p99 ${formatNumber(figures.deliveryMs?.p99)} ms`,
    );
    if (figures.failures > 0) results.problems.push(`${pathName}: ${figures.failures} of ${all.length} streams failed`);
    if (figures.incomplete > 0) results.problems.push(`${pathName}: ${figures.incomplete} streams did not carry ${EVENTS_PER_STREAM} events`);
  }
  results.meta['timed streams that opened a connection (not kept alive)'] = paths.map((pathName) => `${pathName} ${results.streams[pathName]?.newConnections ?? 0}`).join(', ');
  const reference = results.streams.direct?.digests;
  for (const pathName of paths) {
    const digests = results.streams[pathName]?.digests ?? [];
    if (digests.length !== 1 || (reference && digests[0] !== reference[0])) {
      results.problems.push(`${pathName}: streams differ from what the provider sent directly (digests ${digests.join(', ')} vs ${reference?.join(', ')})`);
    }
  }
}

/**
 * `total` requests per path, one at a time LONE_REQUEST_GAP_MS apart, split across rounds with the
 * paths' order rotated, each path on one keep-alive connection (opened by a first, uncounted send).
 */
async function oneAtATime(paths: readonly PathName[], total: number, rounds: number, send: (pathName: PathName, agent: http.Agent, counted: boolean) => Promise<void>): Promise<void> {
  const agents = new Map(paths.map((pathName) => [pathName, new http.Agent({ keepAlive: true, maxSockets: 1 })]));
  const agentOf = (pathName: PathName): http.Agent => agents.get(pathName) as http.Agent;
  try {
    for (const pathName of paths) await send(pathName, agentOf(pathName), false);
    for (const [round, count] of splitAcrossRounds(total, rounds).entries()) {
      for (const pathName of roundOrder(paths, round)) {
        for (let index = 0; index < count; index += 1) {
          await sleep(LONE_REQUEST_GAP_MS);
          await send(pathName, agentOf(pathName), true);
        }
      }
    }
  } finally {
    for (const agent of agents.values()) agent.destroy();
  }
}

/**
 * Single requests with idle time between them, as most pods' traffic is: every hop then wakes a
 * process (and on a VM a vCPU) that went idle, which closed-loop load never shows.
 */
async function measureLoneRequests(env: BenchEnvironment, options: BenchOptions, results: BenchResults, paths: readonly PathName[]): Promise<void> {
  await oneAtATime(paths, LONE_REQUESTS, options.rounds, async (pathName, agent, counted) => {
    // Read around each request alone, so the idle time between them (export timer) stays out.
    const pid = workerPid(env, pathName);
    const cpuBefore = pid === undefined ? undefined : readMainThreadSchedstat(pid)?.onCpuNs;
    const answer = await postChat(env.urls[pathName]?.json as string, agent, 5_000);
    const cpuAfter = pid === undefined ? undefined : readMainThreadSchedstat(pid)?.onCpuNs;
    if (!counted) return;
    if (answer.status !== 200) results.problems.push(`${pathName}: a lone request answered ${answer.status}`);
    (results.loneMs[pathName] ??= []).push(answer.ms);
    if (cpuBefore !== undefined && cpuAfter !== undefined) (results.loneCpuMs[pathName] ??= []).push((cpuAfter - cpuBefore) / 1e6);
  });
  for (const pathName of paths) {
    log(`lone requests ${pathName.padEnd(7)} p50 ${formatNumber(median(results.loneMs[pathName] ?? []))} ms, main-thread CPU p50 ${formatNumber(median(results.loneCpuMs[pathName] ?? []))} ms`);
  }
}

/**
 * Streaming requests with a ~200 KiB conversation, one at a time: the first byte then carries
 * whatever the proxy does per byte of the request (the sidecar reads it, scans it, splices it).
 */
async function measureLongPromptStreams(env: BenchEnvironment, options: BenchOptions, results: BenchResults, paths: readonly PathName[]): Promise<void> {
  await oneAtATime(paths, LONG_PROMPT_STREAMS, options.rounds, async (pathName, agent, counted) => {
    const sample = await timeOneStream(env.urls[pathName]?.paced as string, agent, 10_000, LONG_PROMPT_STREAM).catch((error: unknown) => {
      results.problems.push(`${pathName}: a long-prompt stream failed: ${String(error)}`);
      return undefined;
    });
    if (counted && sample) (results.longPromptTtfbMs[pathName] ??= []).push(sample.ttfbMs);
  });
  for (const pathName of paths) log(`long-prompt streams ${pathName.padEnd(7)} ttfb p50 ${formatNumber(median(results.longPromptTtfbMs[pathName] ?? []))} ms`);
}

/** Peak RSS while passing `bytes`-byte answers through `url`, minus RSS just before. */
async function largeAnswerGrowth(pid: number, url: string, bytes: number): Promise<number | undefined> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    // A small one first, so the growth is the answer's and not the first call's lazy set-up.
    await postLarge(url, agent, 64 * 1024, 10_000);
    await sleep(LARGE_ANSWER_SETTLE_MS);
    const before = readMemory(pid)?.rssKb;
    const sampler = new RssSampler(pid, 10).start();
    for (let index = 0; index < LARGE_ANSWER_REPEATS; index += 1) {
      const answer = await postLarge(url, agent, bytes, 60_000);
      if (answer.status !== 200 || answer.bytes < bytes) throw new Error(`large answer through ${url}: status ${answer.status}, ${answer.bytes} bytes`);
    }
    const { peakKb } = sampler.stop();
    return before === undefined ? undefined : peakKb - before;
  } finally {
    agent.destroy();
  }
}

/**
 * Streams whose one event is 3 MiB arriving in 1 KiB pieces (a long tool call, an image as base64):
 * whatever a proxy does per chunk of an unfinished event adds up over 3,000 chunks. The sidecar
 * rewrites these streams (it added include_usage), so they must reach the client as direct's do.
 */
async function measureBigEvents(env: BenchEnvironment, options: BenchOptions, results: BenchResults, paths: readonly PathName[]): Promise<void> {
  const sizes: Partial<Record<PathName, Set<number>>> = {};
  await oneAtATime(paths, BIG_EVENT_STREAMS, options.rounds, async (pathName, agent, counted) => {
    const answer = await postBigEvent(env.urls[pathName]?.paced as string, agent, BIG_EVENT_BYTES, 60_000).catch((error: unknown) => {
      results.problems.push(`${pathName}: a big-event stream failed: ${String(error)}`);
      return undefined;
    });
    if (!answer) return;
    if (answer.status !== 200) results.problems.push(`${pathName}: a big-event stream answered ${answer.status}`);
    (sizes[pathName] ??= new Set()).add(answer.bytes);
    if (counted) (results.bigEventMs[pathName] ??= []).push(answer.ms);
  });
  const direct = [...(sizes.direct ?? [])].join(', ');
  for (const pathName of paths) {
    const seen = [...(sizes[pathName] ?? [])].join(', ');
    if (seen !== direct) results.problems.push(`${pathName}: big-event streams of ${seen} bytes, direct's of ${direct}`);
    log(`big-event streams ${pathName.padEnd(7)} last byte p50 ${formatNumber(median(results.bigEventMs[pathName] ?? []))} ms`);
  }
}

/**
 * Each size through a fresh sidecar, so one size's heap growth is not the next one's slack; the
 * nginx proxy (whose memory does not move) is reused.
 */
async function measureLargeAnswers(env: BenchEnvironment, results: BenchResults): Promise<void> {
  for (const bytes of LARGE_ANSWER_BYTES) {
    const mib = bytes / (1024 * 1024);
    const growthKb: Partial<Record<PathName, number>> = {};
    const fresh = await env.startAnotherSidecar(`large-${mib}mib`);
    try {
      growthKb.sidecar = await largeAnswerGrowth(fresh.child.pid, proxiedUrls(fresh.url).paced, bytes);
    } finally {
      await fresh.child.stop();
    }
    if (env.proxy && env.urls.nginx) growthKb.nginx = await largeAnswerGrowth(env.proxy.child.pid, env.urls.nginx.paced, bytes);
    results.resources.largeAnswers.push({ bytes, growthKb });
    log(`${mib} MiB answers: RSS growth sidecar ${formatNumber((growthKb.sidecar ?? 0) / 1024)} MiB, nginx ${formatNumber((growthKb.nginx ?? 0) / 1024)} MiB`);
  }
}

async function benchmark(env: BenchEnvironment, options: BenchOptions): Promise<BenchResults> {
  const idleFrom = performance.now();
  const results: BenchResults = {
    meta: describeRun(env, options),
    json: [],
    timedLoops: [],
    streams: {},
    streamCpu: {},
    loneMs: {},
    loneCpuMs: {},
    longPromptTtfbMs: {},
    bigEventMs: {},
    resources: { startupMs: {}, idleRssKb: {}, idleAnonKb: {}, idleSmaps: {}, peakRssKb: {}, peakAnonKb: {}, largeAnswers: [] },
    exports: { requests: 0, bytes: 0 },
    problems: [],
  };
  const paths = PATHS.filter((pathName) => env.urls[pathName] !== undefined);
  await measureStartups(env, options, results);
  await sleep(Math.max(0, idleFrom + IDLE_SETTLE_MS - performance.now()));
  measureIdle(env, results, paths);

  const samplers = new Map(memoryPids(env, paths).map(([pathName, pid]) => [pathName, new RssSampler(pid, 100).start()]));
  const phasePeaks: string[] = [];
  const phaseSteal: string[] = [];
  const phaseWaits: string[] = [];
  const phase = async (name: string, run: () => Promise<void>): Promise<void> => {
    const before = readConditions(env.sidecar.child.pid);
    await run();
    const { steal, runQueueMsPerS } = conditionsBetween(before, readConditions(env.sidecar.child.pid));
    phasePeaks.push(`${name} ${formatNumber((samplers.get('sidecar')?.endPhase() ?? 0) / 1024)}`);
    phaseSteal.push(`${name} ${steal === undefined ? '-' : formatNumber(steal * 100)}`);
    phaseWaits.push(`${name} ${runQueueMsPerS === undefined ? '-' : formatNumber(runQueueMsPerS)}`);
    if (steal !== undefined && steal >= NOTABLE_STEAL) {
      log(`the host took ${formatNumber(steal * 100)}% of this machine's CPU during the ${name} phase: absolute figures read low, ratios to direct and nginx hold better`);
    }
  };
  await phase('json', async () => {
    await measureJson(env, options, results, paths);
    await measureTimedLoops(env, options, results, paths);
  });
  await phase('streams', () => measureStreams(env, options, results, paths));
  await phase('lone', () => measureLoneRequests(env, options, results, paths));
  await phase('long prompt', () => measureLongPromptStreams(env, options, results, paths));
  results.meta['sidecar RSS peak by phase (MiB)'] = phasePeaks.join(', ');
  results.meta['CPU taken by the host (steal) by phase (% of machine)'] = phaseSteal.join(', ');
  results.meta['sidecar main thread runnable but waiting for a CPU by phase (ms per s)'] = phaseWaits.join(', ');
  for (const [pathName, sampler] of samplers) {
    results.resources.peakRssKb[pathName] = sampler.stopAtHighWaterMark();
    results.resources.peakAnonKb[pathName] = sampler.anonymousPeakKb;
  }

  await measureBigEvents(env, options, results, paths);
  await measureLargeAnswers(env, results);
  results.scrape = await measureScrape(env, log).catch((error: unknown) => {
    results.problems.push(`the /metrics scrape measurement failed: ${String(error)}`);
    return undefined;
  });
  results.exports = env.sink.exports();
  if (results.exports.requests === 0) results.problems.push('the sidecar exported no metrics to the OTLP sink');
  return results;
}

/** `--pipeline`: the metrics pipeline's cost per pod instead of the proxy benchmark (./pipeline/run.ts). */
async function pipelineSection(options: BenchOptions): Promise<number> {
  const root = repoRoot();
  const results = await runPipelineBench({ root, levelSeconds: options.levelSeconds, keepTemp: options.keepTemp }, log);
  const markdown = renderPipelineMarkdown(results);
  process.stdout.write(`\n${markdown}`);
  const files = writeResults(options.resultsDir ?? path.join(root, 'results'), 'pipeline', 'pipeline-latest', results, markdown);
  log(`wrote ${files.join(', ')}`);
  return results.problems.length > 0 ? 1 : 0;
}

async function main(): Promise<number> {
  const options = optionsOrExitCode('bench', process.argv.slice(2), parseBenchOptions, BENCH_USAGE);
  if (typeof options === 'number') return options;
  if (options.profile) return profileSidecar(options);
  if (options.pipeline) return pipelineSection(options);
  if (options.memory) return memorySection(options, log);

  const started = performance.now();
  const load = os.loadavg()[0] ?? 0;
  if (load > 1) log(`load average ${load.toFixed(2)} before starting: other work on this machine will make the figures noisy`);
  const env = await startEnvironment({ withProxy: true, exportIntervalMs: EXPORT_INTERVAL_MS, keepTemp: options.keepTemp });
  const unhook = closeOnSignals(env.close);
  try {
    log(`temp dir ${env.dir}; sidecar ${env.sidecar.url}, nginx proxy ${env.proxy?.url}, origin ${env.origin.url}, fake ${env.fake.url}`);
    const results = await benchmark(env, options);
    // Peers never fail the run; only the sidecar's own problems in that section are added to `problems`.
    const peers = options.peers ? await runPeersSection(env, options, results.problems, log) : undefined;
    results.meta['bench seconds'] = ((performance.now() - started) / 1000).toFixed(0);
    const rows = buildRows(results);
    process.stdout.write(`\n${renderTerminalSummary(results, rows)}${peers ? renderPeersText(peers) : ''}`);
    const markdown = `${renderMarkdownReport(results, rows)}${peers ? `\n${renderPeersMarkdown(peers)}` : ''}`;
    const files = writeResults(options.resultsDir ?? path.join(env.root, 'results'), 'bench', 'latest', { ...results, rows, ...(peers ? { peers } : {}) }, markdown);
    log(`wrote ${files.join(', ')}`);
    return results.problems.length > 0 ? 1 : 0;
  } finally {
    await env.close();
    unhook();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
