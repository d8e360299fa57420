/**
 * `make bench`: the sidecar side by side with direct calls and with nginx, on loopback, every
 * loop bounded. Prints the table and writes results/bench-<timestamp>.{json,md} and
 * results/latest.{json,md}. `--profile` instead profiles the sidecar (see ./profile.ts).
 */
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { runStreams } from './clients/streams';
import { postLarge } from './clients/oneShot';
import { runWrk, writeWrkScript } from './clients/wrk';
import { closeOnSignals, proxiedUrls, startEnvironment, type BenchEnvironment } from './environment';
import { optionsOrExitCode } from './commandLine';
import { BENCH_USAGE, parseBenchOptions, type BenchOptions } from './lib/options';
import { EVENTS_PER_STREAM, STREAM_DURATION_MS } from './lib/payloads';
import { clockTicksPerSecond, readCpuTicks, readMemory, RssSampler, type CpuTicks } from './lib/procfs';
import { renderMarkdownReport, renderTerminalSummary } from './lib/report';
import { buildRows, PATHS, type BenchResults, type JsonRun, type PathName } from './lib/results';
import { streamFigures } from './lib/streamStats';
import { formatNumber } from './lib/table';
import { totalErrors } from './lib/wrk';
import { writeResults } from './output';
import { profileSidecar } from './profile';

const EXPORT_INTERVAL_MS = 1_000;
const IDLE_SETTLE_MS = 2_000;
const CONNECTION_LEVELS = [1, 16, 64] as const;
/** Growth that stops rising past some size is slack (GC, buffers); growth that keeps rising is buffering. */
const LARGE_ANSWER_BYTES = [1, 10, 50].map((mib) => mib * 1024 * 1024);
const LARGE_ANSWER_REPEATS = 3;
const LARGE_ANSWER_SETTLE_MS = 500;
const STREAM_TIMEOUT_MS = 15_000;

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The process doing each path's work: what its CPU time is read from. */
function workerPid(env: BenchEnvironment, pathName: PathName): number | undefined {
  if (pathName === 'direct') return env.origin.child.pid;
  if (pathName === 'sidecar') return env.sidecar.child.pid;
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
    'wrk run seconds': options.durationS,
    'warm-up seconds per path': options.warmupS,
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

function measureIdle(env: BenchEnvironment, results: BenchResults): void {
  results.resources.idleRssKb = {
    sidecar: readMemory(env.sidecar.child.pid)?.rssKb,
    nginx: env.proxy ? readMemory(env.proxy.child.pid)?.rssKb : undefined,
  };
  log(`idle RSS: sidecar ${formatNumber((results.resources.idleRssKb.sidecar ?? 0) / 1024)} MiB, nginx ${formatNumber((results.resources.idleRssKb.nginx ?? 0) / 1024)} MiB`);
}

function cpuFigures(before: CpuTicks | undefined, after: CpuTicks | undefined, requests: number): Pick<JsonRun, 'cpuMsPer1k' | 'cpuSystemShare'> {
  if (before === undefined || after === undefined || requests === 0) return {};
  const ticks = after.ticks - before.ticks;
  return {
    cpuMsPer1k: ((ticks / clockTicksPerSecond()) * 1000) / (requests / 1000),
    cpuSystemShare: ticks > 0 ? (after.systemTicks - before.systemTicks) / ticks : undefined,
  };
}

async function jsonRun(env: BenchEnvironment, script: string, pathName: PathName, connections: number, durationS: number): Promise<JsonRun> {
  const url = env.urls[pathName]?.json as string;
  const pid = workerPid(env, pathName);
  const before = pid === undefined ? undefined : readCpuTicks(pid);
  const wrk = await runWrk(env.tools.wrk, script, { url, connections, durationS });
  const after = pid === undefined ? undefined : readCpuTicks(pid);
  const run: JsonRun = { path: pathName, connections, wrk, ...cpuFigures(before, after, wrk.requests) };
  log(
    `${String(connections).padStart(2)} conns ${pathName.padEnd(7)} ${formatNumber(wrk.requestsPerSec).padStart(7)} req/s  p50 ${formatNumber(wrk.latencyMs.p50)} ms  p99 ${formatNumber(wrk.latencyMs.p99)} ms  cpu/1k ${formatNumber(run.cpuMsPer1k)} ms (${formatNumber((run.cpuSystemShare ?? 0) * 100)}% kernel)`,
  );
  return run;
}

async function measureJson(env: BenchEnvironment, options: BenchOptions, results: BenchResults, paths: readonly PathName[]): Promise<void> {
  const script = writeWrkScript(env.dir);
  if (options.warmupS > 0) {
    for (const pathName of paths) await runWrk(env.tools.wrk, script, { url: env.urls[pathName]?.json as string, connections: 16, durationS: options.warmupS });
  }
  // Interleaved per load level, so drift on a shared machine hits every path alike.
  for (const connections of CONNECTION_LEVELS) {
    for (const pathName of paths) {
      const run = await jsonRun(env, script, pathName, connections, options.durationS);
      results.json.push(run);
      const errors = totalErrors(run.wrk.errors);
      if (errors > 0) results.problems.push(`${pathName} at ${connections} connections: ${errors} errors ${JSON.stringify(run.wrk.errors)}`);
    }
  }
}

async function measureStreams(env: BenchEnvironment, options: BenchOptions, results: BenchResults, paths: readonly PathName[]): Promise<void> {
  for (const pathName of paths) {
    const url = env.urls[pathName]?.paced as string;
    const run = { url, concurrency: options.streamConcurrency, timeoutMs: STREAM_TIMEOUT_MS, staggerMs: STREAM_DURATION_MS / options.streamConcurrency };
    // One round first, not counted: connections opened, code paths warm.
    await runStreams({ ...run, total: options.streamConcurrency });
    const samples = await runStreams({ ...run, total: options.streams });
    const figures = streamFigures(samples, EVENTS_PER_STREAM);
    results.streams[pathName] = figures;
    log(
      `streams ${pathName.padEnd(7)} ttfb p50 ${formatNumber(figures.ttfbMs?.p50)} ms  gap p99 ${formatNumber(figures.gapMs?.p99)} ms  gap max ${formatNumber(figures.gapMs?.max)} ms  delivery p99 ${formatNumber(figures.deliveryMs?.p99)} ms`,
    );
    if (figures.failures > 0) results.problems.push(`${pathName}: ${figures.failures} of ${samples.length} streams failed`);
    if (figures.incomplete > 0) results.problems.push(`${pathName}: ${figures.incomplete} streams did not carry ${EVENTS_PER_STREAM} events`);
  }
  const reference = results.streams.direct?.digests;
  for (const pathName of paths) {
    const digests = results.streams[pathName]?.digests ?? [];
    if (digests.length !== 1 || (reference && digests[0] !== reference[0])) {
      results.problems.push(`${pathName}: streams differ from what the provider sent directly (digests ${digests.join(', ')} vs ${reference?.join(', ')})`);
    }
  }
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
    streams: {},
    resources: { startupMs: {}, idleRssKb: {}, peakRssKb: {}, largeAnswers: [] },
    exports: { requests: 0, bytes: 0 },
    problems: [],
  };
  const paths = PATHS.filter((pathName) => env.urls[pathName] !== undefined);
  await measureStartups(env, options, results);
  await sleep(Math.max(0, idleFrom + IDLE_SETTLE_MS - performance.now()));
  measureIdle(env, results);

  const sidecarRss = new RssSampler(env.sidecar.child.pid, 100).start();
  const nginxRss = env.proxy ? new RssSampler(env.proxy.child.pid, 100).start() : undefined;
  await measureJson(env, options, results, paths);
  await measureStreams(env, options, results, paths);
  results.resources.peakRssKb = { sidecar: sidecarRss.stop().peakKb, nginx: nginxRss?.stop().peakKb };
  results.meta['sidecar VmHWM after load (MiB)'] = formatNumber((readMemory(env.sidecar.child.pid)?.hwmKb ?? 0) / 1024);

  await measureLargeAnswers(env, results);
  results.exports = env.sink.exports();
  if (results.exports.requests === 0) results.problems.push('the sidecar exported no metrics to the OTLP sink');
  return results;
}

async function main(): Promise<number> {
  const options = optionsOrExitCode('bench', process.argv.slice(2), parseBenchOptions, BENCH_USAGE);
  if (typeof options === 'number') return options;
  if (options.profile) return profileSidecar(options);

  const started = performance.now();
  const load = os.loadavg()[0] ?? 0;
  if (load > 1) log(`load average ${load.toFixed(2)} before starting: other work on this machine will make the figures noisy`);
  const env = await startEnvironment({ withProxy: true, exportIntervalMs: EXPORT_INTERVAL_MS, keepTemp: options.keepTemp });
  const unhook = closeOnSignals(env.close);
  try {
    log(`temp dir ${env.dir}; sidecar ${env.sidecar.url}, nginx proxy ${env.proxy?.url}, origin ${env.origin.url}, fake ${env.fake.url}`);
    const results = await benchmark(env, options);
    results.meta['bench seconds'] = ((performance.now() - started) / 1000).toFixed(0);
    const rows = buildRows(results);
    process.stdout.write(`\n${renderTerminalSummary(results, rows)}`);
    const files = writeResults(options.resultsDir ?? path.join(env.root, 'results'), 'bench', 'latest', { ...results, rows }, renderMarkdownReport(results, rows));
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
