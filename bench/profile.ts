/**
 * `make bench ARGS=--profile`: the sidecar under `node --cpu-prof`, 16 connections of plain JSON
 * through it, then where its CPU time went (self time by area and by function). Kept apart from
 * the benchmark because the profiler's own cost would skew the figures.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runWrk, writeWrkScript } from './clients/wrk';
import { closeOnSignals, startEnvironment } from './environment';
import { summariseProfile, type CpuProfile, type ProfileSummary } from './lib/cpuProfile';
import type { BenchOptions } from './lib/options';
import { formatNumber } from './lib/table';
import type { WrkResult } from './lib/wrk';
import { timestamp, writeResults } from './output';
import { repoRoot } from './tools';

const PROFILE_CONNECTIONS = 16;
const TOP_FUNCTIONS = 30;

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

export function renderProfile(summary: ProfileSummary, wrk: WrkResult): string {
  return [
    '# genai-sidecar CPU profile (node --cpu-prof)',
    '',
    `Load: wrk, ${PROFILE_CONNECTIONS} connections of plain JSON through the sidecar for ${wrk.durationS.toFixed(0)} s: ${formatNumber(wrk.requestsPerSec)} req/s under the profiler.`,
    `Sampled ${formatNumber(summary.totalMs)} ms; busy (not idle) ${percent(summary.busyShare)}.`,
    '',
    '## Self time by area',
    '',
    '| area | self ms | share |',
    '|---|---:|---:|',
    ...summary.areas.map((area) => `| ${area.area} | ${formatNumber(area.selfMs)} | ${percent(area.share)} |`),
    '',
    `## Top ${TOP_FUNCTIONS} functions by self time`,
    '',
    '| function | where | area | self ms | share |',
    '|---|---|---|---:|---:|',
    ...summary.functions.map((entry) => `| ${entry.name.replace(/\|/g, '\\|')} | ${entry.location} | ${entry.area} | ${formatNumber(entry.selfMs)} | ${percent(entry.share)} |`),
    '',
  ].join('\n');
}

export async function profileSidecar(options: BenchOptions): Promise<number> {
  const resultsDir = options.resultsDir ?? path.join(repoRoot(), 'results');
  const name = `profile-${timestamp()}.cpuprofile`;
  const env = await startEnvironment({
    withProxy: false,
    exportIntervalMs: 1_000,
    sidecarNodeFlags: ['--cpu-prof', `--cpu-prof-dir=${resultsDir}`, `--cpu-prof-name=${name}`],
    keepTemp: options.keepTemp,
  });
  const unhook = closeOnSignals(env.close);
  let wrk: WrkResult;
  try {
    const script = writeWrkScript(env.dir);
    const url = env.urls.sidecar?.json as string;
    if (options.warmupS > 0) await runWrk(env.tools.wrk, script, { url, connections: PROFILE_CONNECTIONS, durationS: options.warmupS });
    // As long as one load level of the benchmark: every round of it.
    wrk = await runWrk(env.tools.wrk, script, { url, connections: PROFILE_CONNECTIONS, durationS: options.durationS * options.rounds });
    // The profile is written as the sidecar exits (SIGTERM -> graceful stop -> exit).
    await env.sidecar.child.stop(20_000);
  } finally {
    await env.close();
    unhook();
  }
  const file = path.join(resultsDir, name);
  if (!existsSync(file)) throw new Error(`the sidecar wrote no profile at ${file}`);
  const summary = summariseProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, TOP_FUNCTIONS);
  const markdown = renderProfile(summary, wrk);
  process.stdout.write(markdown);
  const files = writeResults(resultsDir, 'profile', 'profile-latest', { profile: file, wrk, summary }, markdown);
  process.stderr.write(`bench: wrote ${[file, ...files].join(', ')}\n`);
  return 0;
}
