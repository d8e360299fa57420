/**
 * Everything a benchmark run talks to, all on 127.0.0.1: nginx as the plain-JSON origin, the
 * Node fake provider (paced streams, large answers), the OTLP sink, the sidecar under test and,
 * for comparison, nginx as a reverse proxy and a bare Node forwarder (./servers/bareForwarderMain).
 * Also the URLs each path uses.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHAT_PATH, CHAT_RESPONSE } from './lib/payloads';
import type { PathName } from './lib/results';
import { startBareForwarder, type RunningBareForwarder } from './servers/bareForwarder';
import { startFakeProvider, type FakeProvider } from './servers/fakeProvider';
import { startOriginNginx, startProxyNginx, type RunningNginx } from './servers/nginx';
import { startOtlpSink, type OtlpSink } from './servers/otlpSink';
import { startSidecarProcess, type RunningSidecar } from './servers/sidecar';
import { fetchBenchTools, repoRoot, sidecarEntry, type BenchTools } from './tools';

/** Route names on the sidecar and on the nginx proxy. */
const JSON_ROUTE = 'openai';
const PACED_ROUTE = 'openai-paced';

export interface PathUrls {
  /** Plain chat completions (nginx origin behind it). */
  json: string;
  /** Paced streams and large answers (Node fake provider behind it). */
  paced: string;
}

export interface EnvironmentOptions {
  /** Start nginx as a reverse proxy and the bare Node forwarder too (the benchmark compares; the soak does not need them). */
  withProxy: boolean;
  exportIntervalMs: number;
  /** Node flags for the sidecar, e.g. --cpu-prof. */
  sidecarNodeFlags?: readonly string[];
  keepTemp?: boolean;
}

export interface BenchEnvironment {
  root: string;
  dir: string;
  tools: BenchTools;
  origin: RunningNginx;
  fake: FakeProvider;
  sink: OtlpSink;
  sidecar: RunningSidecar;
  proxy?: RunningNginx;
  bare?: RunningBareForwarder;
  urls: Partial<Record<PathName, PathUrls>>;
  /** Starts one more sidecar like the first (e.g. to time startup); the caller stops it. */
  startAnotherSidecar(label: string, nodeFlags?: readonly string[], extraArgs?: readonly string[]): Promise<RunningSidecar>;
  /** Stops everything started, whatever state it is in; bounded. */
  close(): Promise<void>;
}

/** What every sidecar route points at: the nginx origin (plain JSON), the Node fake (streams) and the OTLP sink; each added to `stoppers`. */
export async function startBackends(nginx: string, dir: string, stoppers: Array<() => Promise<unknown> | void>): Promise<{ origin: RunningNginx; fake: FakeProvider; sink: OtlpSink }> {
  const origin = await startOriginNginx(nginx, dir, CHAT_RESPONSE);
  stoppers.push(() => origin.child.stop());
  const fake = await startFakeProvider();
  stoppers.push(() => fake.close());
  const sink = await startOtlpSink();
  stoppers.push(() => sink.close());
  return { origin, fake, sink };
}

/** The URLs of both routes on a proxy (the sidecar or the nginx proxy) at `base`. */
export function proxiedUrls(base: string): PathUrls {
  return { json: `${base}/${JSON_ROUTE}${CHAT_PATH}`, paced: `${base}/${PACED_ROUTE}${CHAT_PATH}` };
}

export async function startEnvironment(options: EnvironmentOptions): Promise<BenchEnvironment> {
  const root = repoRoot();
  const entry = sidecarEntry(root);
  const tools = fetchBenchTools(root);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'genai-sidecar-bench-'));
  const stoppers: Array<() => Promise<unknown>> = [];
  const close = async (): Promise<void> => {
    for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
    stoppers.length = 0;
    if (!options.keepTemp) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const { origin, fake, sink } = await startBackends(tools.nginx, dir, stoppers);
    const sidecarOptions = {
      entry,
      dir,
      upstreams: [`${JSON_ROUTE}=${origin.url}`, `${PACED_ROUTE}:openai=${fake.url}`],
      otlpEndpoint: sink.url,
      exportIntervalMs: options.exportIntervalMs,
    };
    const sidecar = await startSidecarProcess({ ...sidecarOptions, nodeFlags: options.sidecarNodeFlags });
    stoppers.push(() => sidecar.child.stop());
    const proxy = options.withProxy
      ? await startProxyNginx(tools.nginx, dir, [
          { prefix: `/${JSON_ROUTE}/`, upstreamPort: Number(new URL(origin.url).port), streaming: false },
          { prefix: `/${PACED_ROUTE}/`, upstreamPort: Number(new URL(fake.url).port), streaming: true },
        ])
      : undefined;
    if (proxy) stoppers.push(() => proxy.child.stop());
    const bare = options.withProxy ? await startBareForwarder({ sidecarEntry: entry, dir, routes: { [JSON_ROUTE]: origin.url, [PACED_ROUTE]: fake.url } }) : undefined;
    if (bare) stoppers.push(() => bare.child.stop());
    return {
      root,
      dir,
      tools,
      origin,
      fake,
      sink,
      sidecar,
      proxy,
      bare,
      urls: {
        direct: { json: `${origin.url}${CHAT_PATH}`, paced: `${fake.url}${CHAT_PATH}` },
        sidecar: proxiedUrls(sidecar.url),
        ...(proxy ? { nginx: proxiedUrls(proxy.url) } : {}),
        ...(bare ? { bare: proxiedUrls(bare.url) } : {}),
      },
      startAnotherSidecar: (label, nodeFlags, extraArgs) => startSidecarProcess({ ...sidecarOptions, label, nodeFlags, extraArgs }),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Stop the environment on Ctrl-C or SIGTERM too, then exit; returns a function that unhooks. */
export function closeOnSignals(close: () => Promise<void>): () => void {
  const handler = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\nbench: ${signal}, stopping what was started...\n`);
    void close().finally(() => process.exit(130));
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
