/**
 * `make soak` (issue 6): the sidecar at a steady rate of mixed plain and streaming calls for a
 * few minutes, sampling its RSS, open file descriptors and event-loop lag (the latency of its
 * admin /healthz) once a second, then the first window against the last. Open loop: requests
 * start on schedule whatever the answers' pace, up to a bounded number in flight.
 */
import http from 'node:http';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { postChat } from './clients/oneShot';
import { timeOneStream } from './clients/streams';
import { closeOnSignals, startEnvironment, type BenchEnvironment } from './environment';
import { optionsOrExitCode } from './commandLine';
import { parseSoakOptions, SOAK_USAGE, type SoakOptions } from './lib/options';
import { countOpenFds, readMemory } from './lib/procfs';
import { compareFirstLast, isStreamRequest, renderSoakMarkdown, soakWindows, type SoakRequest, type SoakSample } from './lib/soakReport';
import { formatNumber } from './lib/table';
import { writeResults } from './output';

const TICK_MS = 10;
const SAMPLE_EVERY_MS = 1_000;
const MAX_IN_FLIGHT = 1_000;
const PLAIN_TIMEOUT_MS = 10_000;
const STREAM_TIMEOUT_MS = 15_000;
const DRAIN_MS = 20_000;
/** monitorEventLoopDelay records whole intervals between its ticks; lag is what exceeds this. */
const LOOP_RESOLUTION_MS = 10;

function log(message: string): void {
  process.stderr.write(`soak: ${message}\n`);
}

function timeHealthz(url: string, agent: http.Agent): Promise<number | undefined> {
  return new Promise((resolve) => {
    const started = performance.now();
    const request = http.get(url, { agent, timeout: 5_000 }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode === 200 ? performance.now() - started : undefined));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(undefined));
  });
}

async function soak(env: BenchEnvironment, options: SoakOptions): Promise<{ requests: SoakRequest[]; samples: SoakSample[]; totalS: number }> {
  const totalS = options.minutes * 60;
  const pid = env.sidecar.child.pid;
  const urls = env.urls.sidecar;
  if (!urls) throw new Error('no sidecar URLs');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const healthAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loop.enable();
  const requests: SoakRequest[] = [];
  const samples: SoakSample[] = [];
  const pending = new Set<Promise<void>>();
  const start = performance.now();
  const elapsedS = (): number => (performance.now() - start) / 1000;

  const send = (index: number): void => {
    const atS = elapsedS();
    const kind = isStreamRequest(index, options.streamShare) ? 'stream' : 'plain';
    if (pending.size >= MAX_IN_FLIGHT) {
      requests.push({ atS, kind, ok: false, skipped: true });
      return;
    }
    const work: Promise<void> =
      kind === 'plain'
        ? postChat(urls.json, agent, PLAIN_TIMEOUT_MS).then(
            (answer) => void requests.push({ atS, kind, ok: answer.status === 200, ms: answer.ms }),
            () => void requests.push({ atS, kind, ok: false }),
          )
        : timeOneStream(urls.paced, agent, STREAM_TIMEOUT_MS).then(
            (stream) => void requests.push({ atS, kind, ok: true, ms: stream.ttfbMs, maxGapMs: Math.max(0, ...stream.gapsMs) }),
            () => void requests.push({ atS, kind, ok: false }),
          );
    pending.add(work);
    void work.finally(() => pending.delete(work));
  };

  const sample = async (): Promise<void> => {
    const atS = elapsedS();
    const healthzMs = await timeHealthz(`${env.sidecar.adminUrl}/healthz`, healthAgent);
    samples.push({ atS, rssKb: readMemory(pid)?.rssKb, fds: countOpenFds(pid), healthzMs, benchLoopP99Ms: Math.max(0, loop.percentile(99) / 1e6 - LOOP_RESOLUTION_MS) });
    loop.reset();
  };

  let sent = 0;
  let nextSampleS = 0;
  let nextLogS = 60;
  while (elapsedS() < totalS) {
    const due = Math.min(Math.floor(elapsedS() * options.rate), Math.floor(totalS * options.rate));
    while (sent < due) send(sent++);
    if (elapsedS() >= nextSampleS) {
      nextSampleS += SAMPLE_EVERY_MS / 1000;
      void sample();
    }
    if (elapsedS() >= nextLogS) {
      const last = samples[samples.length - 1];
      log(`${nextLogS.toFixed(0)} s: ${sent} sent, ${pending.size} in flight, RSS ${formatNumber((last?.rssKb ?? 0) / 1024)} MiB, fds ${last?.fds ?? '-'}, /healthz ${formatNumber(last?.healthzMs)} ms`);
      nextLogS += 60;
    }
    await new Promise((resolve) => setTimeout(resolve, TICK_MS));
  }
  await Promise.race([Promise.allSettled([...pending]), new Promise((resolve) => setTimeout(resolve, DRAIN_MS))]);
  await sample();
  loop.disable();
  agent.destroy();
  healthAgent.destroy();
  return { requests, samples, totalS };
}

async function main(): Promise<number> {
  const options = optionsOrExitCode('soak', process.argv.slice(2), parseSoakOptions, SOAK_USAGE);
  if (typeof options === 'number') return options;
  const env = await startEnvironment({ withProxy: false, exportIntervalMs: 1_000, keepTemp: options.keepTemp });
  const unhook = closeOnSignals(env.close);
  try {
    log(`${options.minutes} min at ${options.rate} req/s (${(options.streamShare * 100).toFixed(0)}% paced streams) through ${env.sidecar.url}`);
    const { requests, samples, totalS } = await soak(env, options);
    const windows = soakWindows(requests, samples, totalS);
    const comparison = compareFirstLast(windows);
    const meta = {
      date: new Date().toISOString(),
      minutes: options.minutes,
      'rate (req/s)': options.rate,
      'stream share': options.streamShare,
      'sidecar export interval ms': 1_000,
      'OTLP exports received': env.sink.exports().requests,
      node: process.version,
    };
    const markdown = renderSoakMarkdown(meta, windows, comparison);
    process.stdout.write(markdown);
    const files = writeResults(options.resultsDir ?? path.join(env.root, 'results'), 'soak', 'soak-latest', { meta, windows, comparison }, markdown);
    log(`wrote ${files.join(', ')}`);
    const failures = windows.reduce((sum, window) => sum + window.failures, 0);
    return failures > 0 ? 1 : 0;
  } finally {
    await env.close();
    unhook();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`soak: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
