/**
 * `--peers`: after the main benchmark, the sidecar beside the proxies a platform team would
 * otherwise deploy (./registry.ts), on the same machine, behind the same fake providers, under
 * the same loads, in one section of the same run. A fresh sidecar is started with them, so every
 * contender's start-up, idle and peak memory cover the same life. A peer that fails to install
 * or to start is reported with the reason and the rest goes on: nothing here fails `make bench`
 * but the sidecar misbehaving or the section itself breaking.
 */
import { readMemory, RssSampler } from '../lib/procfs';
import type { BenchOptions } from '../lib/options';
import type { BenchEnvironment } from '../environment';
import type { Child } from '../servers/processes';
import type { RunningSidecar } from '../servers/sidecar';
import { directRequest, sidecarCorpusUpstreams, sidecarRequest, type Contender, type PeerDefinition, type RunningPeer, type UpstreamUrls } from './contender';
import { loadExchange, startCorpusProvider } from './corpusProvider';
import { describeComparison } from './compare';
import { checkCorrectness, correctnessCases } from './correctness';
import { installPeers } from './install';
import { measureJson, measureStreams } from './measure';
import { PEERS } from './registry';
import type { PeerResults } from './results';

type Log = (message: string) => void;

/** As the main benchmark reads idle RSS: two seconds after ready. */
const IDLE_SETTLE_MS = 2_000;
const RSS_SAMPLE_MS = 100;
export const CORPUS_FILES = { openai: 'openai/chat_stream_tool_call_no_usage.json', anthropic: 'anthropic/messages_stream_opus46.json' } as const;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One line for the table: the error's first line and, when it carries a log tail, that tail's last line. */
function firstLine(error: unknown): string {
  const lines = (error instanceof Error ? error.message : String(error)).split('\n').filter((line) => line.trim() !== '');
  return lines.length > 1 ? `${lines[0]} ${lines[lines.length - 1]?.trim()}` : (lines[0] ?? '');
}

/** Starts something `count` times, keeping the last one running; the start-up time of each. */
async function startRepeatedly<T extends { readyMs: number }>(count: number, start: (index: number) => Promise<T>, stop: (started: T) => Promise<unknown>): Promise<{ kept: T; startupMs: number[] }> {
  const startupMs: number[] = [];
  for (let index = 0; ; index += 1) {
    const started = await start(index);
    startupMs.push(started.readyMs);
    if (index + 1 >= count) return { kept: started, startupMs };
    await stop(started);
  }
}

function readIdle(results: PeerResults, name: string, pid: number | undefined): void {
  const memory = pid === undefined ? undefined : readMemory(pid);
  results.idleRssKb[name] = memory?.rssKb;
  results.idleAnonKb[name] = memory?.anonKb;
}

async function startPeer(peer: PeerDefinition, entry: string, env: BenchEnvironment, upstreams: UpstreamUrls, options: BenchOptions, results: PeerResults, log: Log): Promise<RunningPeer | undefined> {
  try {
    const { kept, startupMs } = await startRepeatedly(
      options.startups,
      (index) => peer.start({ entry, dir: env.dir, upstreams, label: String(index) }),
      (started) => started.child.stop(),
    );
    results.startupMs[peer.name] = startupMs;
    await sleep(IDLE_SETTLE_MS);
    readIdle(results, peer.name, kept.child.pid);
    log(`peers: ${peer.name} ${kept.version} ready in ${startupMs.map((ms) => ms.toFixed(0)).join(', ')} ms`);
    return kept;
  } catch (error) {
    results.notMeasured.push({ name: peer.name, reason: `did not start: ${firstLine(error)}` });
    log(`peers: ${peer.name} did not start: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

function newResults(): PeerResults {
  return { contenders: [], notMeasured: [], json: [], streams: {}, streamCpu: {}, startupMs: {}, idleRssKb: {}, idleAnonKb: {}, peakRssKb: {}, correctness: [], notes: [] };
}

/**
 * Runs the section on the environment the main benchmark used (its origin, fake provider and OTLP
 * sink). Problems of the sidecar's own go to `problems` (they fail the bench as in the main run);
 * a peer's go into the section's notes.
 */
export async function runPeersSection(env: BenchEnvironment, options: BenchOptions, problems: string[], log: Log): Promise<PeerResults> {
  const results = newResults();
  const installs = installPeers(env.root, PEERS.map((peer) => peer.name));
  const stoppers: Array<() => Promise<unknown>> = [];
  // Ctrl-C closes the environment and exits; the processes started here go with it.
  const running: Child[] = [];
  const killOnExit = (): void => running.forEach((child) => child.process.kill('SIGKILL'));
  process.once('exit', killOnExit);
  try {
    const exchanges = { openai: loadExchange(env.root, CORPUS_FILES.openai), anthropic: loadExchange(env.root, CORPUS_FILES.anthropic) };
    const corpus = await startCorpusProvider(exchanges);
    stoppers.push(() => corpus.close());
    const upstreams: UpstreamUrls = { origin: env.origin.url, paced: env.fake.url, corpus: corpus.url };

    const sidecarStart = await startRepeatedly<RunningSidecar>(
      options.startups,
      (index) => env.startAnotherSidecar(`peers${index}`, [], sidecarCorpusUpstreams(upstreams.corpus).flatMap((value) => ['--upstream', value])),
      (started) => started.child.stop(),
    );
    const sidecar = sidecarStart.kept;
    stoppers.push(() => sidecar.child.stop());
    running.push(sidecar.child);
    results.startupMs.sidecar = sidecarStart.startupMs;
    await sleep(IDLE_SETTLE_MS);
    readIdle(results, 'sidecar', sidecar.child.pid);

    const contenders: Contender[] = [
      { name: 'direct', description: 'straight to the fake providers (plain JSON: nginx returning a fixed answer; streams: the Node fake)', pid: env.origin.child.pid, request: (call) => directRequest(upstreams, call) },
      {
        name: 'sidecar',
        description: 'genai-sidecar (dist/src/cli/main.js run, node flags as in the image, metrics on and exported every second to a local OTLP sink), started fresh for this section',
        pid: sidecar.child.pid,
        request: (call) => sidecarRequest(sidecar.url, call),
      },
    ];
    for (const peer of PEERS) {
      const install = installs.get(peer.name);
      if (!install?.installed) {
        results.notMeasured.push({ name: peer.name, reason: `not installed: ${install?.reason ?? 'unknown'}` });
        continue;
      }
      const started = await startPeer(peer, install.entry, env, upstreams, options, results, log);
      if (!started) continue;
      stoppers.push(() => started.child.stop());
      running.push(started.child);
      contenders.push({ name: peer.name, description: `${peer.configuration}; version ${started.version}`, pid: started.child.pid, request: started.request });
    }
    results.contenders = contenders.map(({ name, description }) => ({ name, description }));

    const samplers = contenders.filter((contender) => contender.name !== 'direct' && contender.pid !== undefined).map((contender) => ({ name: contender.name, sampler: new RssSampler(contender.pid as number, RSS_SAMPLE_MS).start() }));
    try {
      await measureJson(env.tools.wrk, env.dir, contenders, options, results, log);
      await measureStreams(contenders, options, results, log);
    } finally {
      for (const { name, sampler } of samplers) results.peakRssKb[name] = sampler.stopAtHighWaterMark();
    }

    results.correctness = await checkCorrectness(contenders, correctnessCases(exchanges), corpus);
    // The sidecar forwards unchanged: anything else here is a bug of ours.
    for (const testCase of results.correctness) {
      const outcome = testCase.outcomes.sidecar;
      const comparison = outcome?.comparison;
      const unchanged = comparison !== undefined && comparison.sameStatus && comparison.sameBody && comparison.headersDropped.length === 0 && comparison.headersChanged.length === 0;
      if (!unchanged) problems.push(`peers section: the sidecar did not give the client what a direct call gives for "${testCase.title}": ${outcome?.error ?? (comparison ? describeComparison(comparison) : 'no answer')}`);
    }
    for (const note of results.notes.filter((line) => line.startsWith('sidecar') || line.startsWith('direct'))) problems.push(`peers section: ${note}`);
  } catch (error) {
    // Not a peer's failure (those are caught where they happen): the bench's own, so it counts.
    results.notes.push(`the peers section stopped early: ${firstLine(error)}`);
    problems.push(`the peers section stopped early: ${firstLine(error)}`);
    log(`peers: stopped early: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  } finally {
    for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
    process.off('exit', killOnExit);
  }
  return results;
}
