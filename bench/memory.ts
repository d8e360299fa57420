/**
 * `make bench ARGS=--memory`: what one sidecar costs a pod in memory, phase by phase (idle,
 * plain JSON at 16 and 64 connections, 64 concurrent streams, 8 concurrent 50 MiB answers, idle
 * again), read from /proc and from a memory cgroup as a container's (./memoryCgroup.ts); and what
 * a second sidecar in the same group adds. Everything on 127.0.0.1, every phase bounded.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, fsyncSync, mkdtempSync, openSync, rmSync, statfsSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_RESOURCES } from '../src/inject/options';
import { parseQuantity } from '../src/inject/quantity';
import { postLarge } from './clients/oneShot';
import { runStreams } from './clients/streams';
import { runWrk, writeWrkScript } from './clients/wrk';
import { proxiedUrls, startBackends } from './environment';
import { memoryFigures, peakOf, renderMemoryMarkdown, type MemoryFigures, type MemoryResults } from './lib/memoryReport';
import type { BenchOptions } from './lib/options';
import { EVENTS_PER_STREAM, STREAM_DURATION_MS, STREAM_PACING_MS } from './lib/payloads';
import { readMemory, readSmapsRollup } from './lib/procfs';
import { streamStartOffsets } from './lib/streamSchedule';
import { totalErrors } from './lib/wrk';
import { createMemoryCgroup, type MemoryCgroup } from './memoryCgroup';
import { startSidecarProcess, type RunningSidecar } from './servers/sidecar';
import { writeResults } from './output';
import { fetchBenchTools, repoRoot, sidecarEntry } from './tools';

const IDLE_SETTLE_MS = 2_000;
const AFTER_LOAD_SETTLE_MS = 5_000;
const SAMPLE_EVERY_MS = 20;
const STREAM_CONCURRENCY = 64;
const LARGE_ANSWERS_AT_ONCE = 8;
const LARGE_ANSWER_BYTES = 50 * 1024 * 1024;
const LARGE_ANSWER_ROUNDS = 2;
const TMPFS_MAGIC = 0x01021994;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A copy of this node binary with none of its pages cached, in a folder on disk (on tmpfs the copy
 * would itself be memory): the first sidecar started from it reads the binary in and its group is
 * charged for it, as the first sidecar on a node is, where this machine's node is already cached.
 */
function uncachedNodeCopy(root: string): { dir: string; node: string } {
  const base = statfsSync(os.tmpdir()).type === TMPFS_MAGIC ? path.join(root, '.cache') : os.tmpdir();
  const dir = mkdtempSync(path.join(base, 'genai-sidecar-memory-'));
  const node = path.join(dir, 'node');
  copyFileSync(process.execPath, node);
  // Dirty pages cannot be dropped: write them out first, then drop the file's cache (coreutils dd).
  const fd = openSync(node, 'r');
  fsyncSync(fd);
  closeSync(fd);
  spawnSync('dd', [`if=${node}`, 'iflag=nocache', 'count=0', 'status=none'], { timeout: 10_000 });
  return { dir, node };
}

function reading(pid: number, group: MemoryCgroup | undefined, withSmaps: boolean): MemoryFigures {
  return memoryFigures(readMemory(pid), group?.read(), withSmaps ? readSmapsRollup(pid) : undefined);
}

/** Each figure's peak while `work` runs, sampled every SAMPLE_EVERY_MS; the group's usage also from the kernel's high-water mark where it resets. */
async function peakDuring(pid: number, group: MemoryCgroup | undefined, work: () => Promise<void>): Promise<MemoryFigures> {
  const kernelPeak = group?.resetPeak() === true;
  const samples = [reading(pid, group, false)];
  const timer = setInterval(() => samples.push(reading(pid, group, false)), SAMPLE_EVERY_MS);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  samples.push(reading(pid, group, false));
  const peak = peakOf(samples);
  const usage = kernelPeak ? group?.peakBytes() : undefined;
  return usage === undefined ? peak : { ...peak, usageBytes: Math.max(usage, peak.usageBytes ?? 0) };
}

interface LoadTarget {
  wrk: string;
  script: string;
  /** The sidecar's plain-JSON route (nginx origin) and paced route (Node fake provider). */
  json: string;
  paced: string;
  phaseS: number;
  problems: string[];
}

/** The loads, in order, each bounded: what went wrong goes to `problems`, not thrown, so later phases still run. */
function loadPhases(target: LoadTarget): Array<[string, () => Promise<void>]> {
  const { phaseS, problems } = target;
  const json = (connections: number): [string, () => Promise<void>] => [
    `plain JSON, ${connections} connections, ${phaseS} s`,
    async () => {
      const result = await runWrk(target.wrk, target.script, { url: target.json, connections, durationS: phaseS });
      const errors = totalErrors(result.errors);
      if (errors > 0) problems.push(`${connections} connections: ${errors} wrk errors`);
    },
  ];
  const streams = async (): Promise<void> => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: STREAM_CONCURRENCY });
    try {
      const total = STREAM_CONCURRENCY * Math.ceil((phaseS * 1000) / STREAM_DURATION_MS);
      const offsets = streamStartOffsets(STREAM_CONCURRENCY, STREAM_DURATION_MS, STREAM_PACING_MS);
      const samples = await runStreams({ url: target.paced, agent, total, concurrency: STREAM_CONCURRENCY, timeoutMs: 15_000, startOffsetsMs: offsets });
      const bad = samples.filter((sample) => !('events' in sample) || sample.events !== EVENTS_PER_STREAM).length;
      if (bad > 0) problems.push(`streams: ${bad} of ${total} failed or were incomplete`);
    } finally {
      agent.destroy();
    }
  };
  const largeAnswers = async (): Promise<void> => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: LARGE_ANSWERS_AT_ONCE });
    try {
      for (let round = 0; round < LARGE_ANSWER_ROUNDS; round += 1) {
        const answers = await Promise.all(Array.from({ length: LARGE_ANSWERS_AT_ONCE }, () => postLarge(target.paced, agent, LARGE_ANSWER_BYTES, 60_000).catch((error: unknown) => String(error))));
        const bad = answers.filter((answer) => typeof answer === 'string' || answer.status !== 200 || answer.bytes < LARGE_ANSWER_BYTES);
        if (bad.length > 0) problems.push(`large answers, round ${round + 1}: ${bad.length} of ${answers.length} failed or came short`);
      }
    } finally {
      agent.destroy();
    }
  };
  return [
    json(16),
    json(64),
    [`${STREAM_CONCURRENCY} streams at once, ${phaseS} s`, streams],
    [`${LARGE_ANSWERS_AT_ONCE} answers of ${LARGE_ANSWER_BYTES / (1024 * 1024)} MiB at once, ${LARGE_ANSWER_ROUNDS} rounds`, largeAnswers],
  ];
}

async function measureMemory(options: BenchOptions, root: string, log: (message: string) => void): Promise<MemoryResults> {
  const phaseS = options.quick ? 5 : 10;
  const limitBytes = parseQuantity(DEFAULT_RESOURCES.memoryLimit) as number;
  const results: MemoryResults = {
    meta: {
      date: new Date().toISOString(),
      mode: options.quick ? 'quick' : 'full',
      node: process.version,
      cpu: `${os.cpus()[0]?.model ?? 'unknown'} x ${os.cpus().length}`,
      kernel: os.release(),
      'seconds per load phase': phaseS,
      'injected requests / limits (memory)': `${DEFAULT_RESOURCES.memoryRequest} / ${DEFAULT_RESOURCES.memoryLimit}`,
    },
    limitBytes,
    phases: [],
    problems: [],
  };
  const stoppers: Array<() => Promise<unknown> | void> = [];
  try {
    const entry = sidecarEntry(root);
    const tools = fetchBenchTools(root);
    const { dir, node } = uncachedNodeCopy(root);
    if (options.keepTemp) log(`temp dir ${dir} (kept: logs, configs and the node copy)`);
    else stoppers.push(() => rmSync(dir, { recursive: true, force: true }));
    const made = createMemoryCgroup('genai-sidecar-memory', limitBytes);
    const group = typeof made === 'string' ? undefined : made;
    if (typeof made === 'string') {
      results.cgroupUnavailable = made;
      log(`no cgroup figures: ${made}`);
    } else {
      results.meta.cgroup = `v${made.version} ${made.dir}`;
      stoppers.push(() => made.remove());
    }
    const { origin, fake, sink } = await startBackends(tools.nginx, dir, stoppers);
    const start = async (label: string): Promise<RunningSidecar> => {
      const sidecar = await startSidecarProcess({
        entry,
        dir,
        upstreams: [`openai=${origin.url}`, `openai-paced:openai=${fake.url}`],
        otlpEndpoint: sink.url,
        exportIntervalMs: 1_000,
        label,
        launcher: group ? group.launcher(node) : [node],
      });
      stoppers.push(() => sidecar.child.stop());
      return sidecar;
    };

    const first = await start('memory');
    const pid = first.child.pid;
    const { json, paced } = proxiedUrls(first.url);
    const phase = async (name: string, work: () => Promise<void>): Promise<void> => {
      const figures = await peakDuring(pid, group, work);
      results.phases.push({ name, kind: 'peak', figures });
      log(`${name}: peak ${summary(figures)}`);
    };
    const settled = async (name: string, ms: number): Promise<MemoryFigures> => {
      await sleep(ms);
      const figures = reading(pid, group, true);
      results.phases.push({ name, kind: 'reading', figures });
      log(`${name}: ${summary(figures)}`);
      return figures;
    };

    const idle = await settled(`idle (start + ${IDLE_SETTLE_MS / 1000} s, no call yet)`, IDLE_SETTLE_MS);
    if (group) {
      const second = await start('memory-second');
      await sleep(IDLE_SETTLE_MS);
      results.second = { before: idle, after: reading(pid, group, false), itself: reading(second.child.pid, undefined, true) };
      await second.child.stop();
    }

    for (const [name, work] of loadPhases({ wrk: tools.wrk, script: writeWrkScript(dir), json, paced, phaseS, problems: results.problems })) await phase(name, work);
    await settled(`idle again (${AFTER_LOAD_SETTLE_MS / 1000} s after the load)`, AFTER_LOAD_SETTLE_MS);
    results.meta['sidecar VmHWM over the run (MiB)'] = format(readMemory(pid)?.hwmKb);
    if (group) {
      results.limitHits = group.limitHits();
      results.oomKills = group.oomKills();
      if (group.version === 2) results.meta['group usage peak over the run (memory.peak, MiB)'] = format(bytesToKb(group.peakBytes()));
    }
    if (sink.exports().requests === 0) results.problems.push('the sidecar exported no metrics to the OTLP sink');
  } catch (error) {
    results.problems.push(`the memory run stopped: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    for (const stop of stoppers.reverse()) await (async () => stop())().catch(() => undefined);
  }
  return results;
}

/** Runs the section, prints its tables and writes results/memory-<timestamp>.{json,md} and memory-latest; exit code 1 when the measurement went wrong. */
export async function memorySection(options: BenchOptions, log: (message: string) => void): Promise<number> {
  const root = repoRoot();
  const results = await measureMemory(options, root, log);
  const markdown = renderMemoryMarkdown(results);
  process.stdout.write(`\n${markdown}`);
  const files = writeResults(options.resultsDir ?? path.join(root, 'results'), 'memory', 'memory-latest', results, markdown);
  log(`wrote ${files.join(', ')}`);
  return results.problems.length > 0 ? 1 : 0;
}

const format = (kb: number | undefined): string => (kb === undefined ? '—' : (kb / 1024).toFixed(1));
const bytesToKb = (bytes: number | undefined): number | undefined => (bytes === undefined ? undefined : bytes / 1024);
const summary = (f: MemoryFigures): string =>
  `RSS ${format(f.rssKb)} MiB, anonymous ${format(f.anonKb)} MiB, group usage ${format(bytesToKb(f.usageBytes))} MiB, working set ${format(bytesToKb(f.workingSetBytes))} MiB`;
