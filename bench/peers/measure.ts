/**
 * The main benchmark's loads, run on the peers section's contenders the same way: wrk at 1, 16 and
 * 64 connections and paced streams, each in rounds with the contenders' order rotated, after the
 * same warm-up, each timed wrk round after the same lead-in. Only the request differs per
 * contender (its URL, headers and, for a peer that routes on it, the model name).
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { timeOneStream } from '../clients/streams';
import { runWrk } from '../clients/wrk';
import type { BenchOptions } from '../lib/options';
import { CHAT_REQUEST, EVENTS_PER_STREAM, STREAM_DURATION_MS, STREAM_PACING_MS, STREAM_REQUEST } from '../lib/payloads';
import { ticksToMs, withCpu } from '../lib/procfs';
import { roundOrder, splitAcrossRounds } from '../lib/rounds';
import { streamStartOffsets } from '../lib/streamSchedule';
import { streamFigures, type StreamFailure, type StreamSample } from '../lib/streamStats';
import { formatNumber } from '../lib/table';
import { totalErrors, wrkLuaScript } from '../lib/wrk';
import type { Call, Contender, PathRequest } from './contender';
import type { PeerResults } from './results';

export const CONNECTION_LEVELS = [1, 16, 64] as const;
const WARM_UP_CONNECTIONS = [16, 1] as const;
const STREAM_TIMEOUT_MS = 15_000;
const STREAM_WARM_UP_CONCURRENCY = 64;

export const JSON_CALL: Call = { upstream: 'origin', api: 'chat', body: CHAT_REQUEST, headers: {} };
export const STREAM_CALL: Call = { upstream: 'paced', api: 'chat', body: STREAM_REQUEST, headers: {} };

type Log = (message: string) => void;

/** CPU ms `pid` used while `work` ran (10 ms ticks: meaningful over many requests only). */
/** withCpu, in milliseconds. */
async function withCpuMs<T>(pid: number | undefined, work: () => Promise<T>): Promise<{ value: T; cpuMs?: number }> {
  const { value, used } = await withCpu(pid, work);
  return { value, cpuMs: used === undefined ? undefined : ticksToMs(used.ticks) };
}

/** wrk's Lua script for each contender's plain-JSON request, written once into `dir`. */
function writeScripts(dir: string, contenders: readonly Contender[]): Map<string, { script: string; request: PathRequest }> {
  const scripts = new Map<string, { script: string; request: PathRequest }>();
  for (const contender of contenders) {
    const request = contender.request(JSON_CALL);
    const script = path.join(dir, `peers-${contender.name}.lua`);
    writeFileSync(script, wrkLuaScript({ method: 'POST', body: request.body, headers: request.headers }));
    scripts.set(contender.name, { script, request });
  }
  return scripts;
}

export async function measureJson(wrk: string, dir: string, contenders: readonly Contender[], options: BenchOptions, results: PeerResults, log: Log): Promise<void> {
  const scripts = writeScripts(dir, contenders);
  const load = (name: string, connections: number, durationS: number) => {
    const { script, request } = scripts.get(name) as { script: string; request: PathRequest };
    return runWrk(wrk, script, { url: request.url, connections, durationS });
  };
  if (options.warmupS > 0) {
    for (const contender of contenders) for (const connections of WARM_UP_CONNECTIONS) await load(contender.name, connections, options.warmupS);
  }
  for (const connections of CONNECTION_LEVELS) {
    for (let round = 0; round < options.rounds; round += 1) {
      for (const contender of roundOrder(contenders, round)) {
        if (options.leadInS > 0) await load(contender.name, connections, options.leadInS);
        const { value: run, cpuMs } = await withCpuMs(contender.pid, () => load(contender.name, connections, options.durationS));
        const cpuMsPer1k = cpuMs !== undefined && run.requests > 0 ? cpuMs / (run.requests / 1000) : undefined;
        results.json.push({ contender: contender.name, connections, round, wrk: run, cpuMsPer1k });
        const errors = totalErrors(run.errors);
        if (errors > 0) results.notes.push(`${contender.name} at ${connections} connections, round ${round + 1}: ${errors} errors ${JSON.stringify(run.errors)}`);
        log(`peers: ${String(connections).padStart(2)} conns round ${round + 1} ${contender.name.padEnd(8)} ${formatNumber(run.requestsPerSec).padStart(7)} req/s  p50 ${formatNumber(run.latencyMs.p50)} ms  p99 ${formatNumber(run.latencyMs.p99)} ms  cpu/1k ${formatNumber(cpuMsPer1k)} ms`);
      }
    }
  }
}

/** `total` streams of `request`, `concurrency` at once, worker k starting offsets[k] late. */
async function runStreams(request: PathRequest, agent: http.Agent, total: number, concurrency: number, offsetsMs: readonly number[]): Promise<Array<StreamSample | StreamFailure>> {
  const samples: Array<StreamSample | StreamFailure> = [];
  let started = 0;
  const sent = { body: request.body, headers: request.headers };
  const worker = async (_: unknown, index: number): Promise<void> => {
    await new Promise((resolve) => setTimeout(resolve, offsetsMs[index % offsetsMs.length] ?? 0));
    while (started < total) {
      started += 1;
      samples.push(await timeOneStream(request.url, agent, STREAM_TIMEOUT_MS, sent).catch((error: unknown) => ({ error: String(error) })));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return samples;
}

export async function measureStreams(contenders: readonly Contender[], options: BenchOptions, results: PeerResults, log: Log): Promise<void> {
  const offsetsMs = streamStartOffsets(options.streamConcurrency, STREAM_DURATION_MS, STREAM_PACING_MS);
  const requests = new Map(contenders.map((contender) => [contender.name, contender.request(STREAM_CALL)]));
  const agents = new Map(contenders.map((contender) => [contender.name, new http.Agent({ keepAlive: true, maxSockets: options.streamConcurrency })]));
  const requestOf = (contender: Contender): PathRequest => requests.get(contender.name) as PathRequest;
  const agentOf = (contender: Contender): http.Agent => agents.get(contender.name) as http.Agent;
  try {
    // Uncounted: a burst that gets the relaying code compiled, then one round that opens the kept-alive connections.
    for (const contender of contenders) {
      const warmUp = new http.Agent({ keepAlive: true, maxSockets: STREAM_WARM_UP_CONCURRENCY });
      await runStreams(requestOf(contender), warmUp, STREAM_WARM_UP_CONCURRENCY, STREAM_WARM_UP_CONCURRENCY, offsetsMs).finally(() => warmUp.destroy());
      await runStreams(requestOf(contender), agentOf(contender), options.streamConcurrency, options.streamConcurrency, offsetsMs);
    }
    const samples = new Map<string, Array<StreamSample | StreamFailure>>();
    for (const [round, total] of splitAcrossRounds(options.streams, options.rounds).entries()) {
      if (total === 0) continue;
      for (const contender of roundOrder(contenders, round)) {
        // Direct's streams are served by this process: no separate CPU to read.
        const pid = contender.name === 'direct' ? undefined : contender.pid;
        const { value, cpuMs } = await withCpuMs(pid, () => runStreams(requestOf(contender), agentOf(contender), total, options.streamConcurrency, offsetsMs));
        samples.set(contender.name, [...(samples.get(contender.name) ?? []), ...value]);
        if (cpuMs !== undefined) {
          const cpu = (results.streamCpu[contender.name] ??= { cpuMs: 0, events: 0 });
          cpu.cpuMs += cpuMs;
          cpu.events += value.reduce((events, sample) => events + ('events' in sample ? sample.events : 0), 0);
        }
      }
    }
    for (const contender of contenders) {
      const all = samples.get(contender.name) ?? [];
      const figures = streamFigures(all, EVENTS_PER_STREAM);
      results.streams[contender.name] = figures;
      if (figures.failures > 0) results.notes.push(`${contender.name}: ${figures.failures} of ${all.length} streams failed (${(all.find((sample) => 'error' in sample) as StreamFailure | undefined)?.error ?? ''})`);
      if (figures.incomplete > 0) results.notes.push(`${contender.name}: ${figures.incomplete} streams did not carry ${EVENTS_PER_STREAM} events`);
      log(`peers: streams ${contender.name.padEnd(8)} ttfb p50 ${formatNumber(figures.ttfbMs?.p50)} ms  gap p99 ${formatNumber(figures.gapMs?.p99)} ms  gap max ${formatNumber(figures.gapMs?.max)} ms`);
    }
  } finally {
    for (const agent of agents.values()) agent.destroy();
  }
}
