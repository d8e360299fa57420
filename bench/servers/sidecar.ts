/**
 * The sidecar as users run it: a child process from dist/src/cli/main.js with metrics on,
 * exporting to the local OTLP sink every second so the export cost shows in the figures.
 */
import path from 'node:path';
import { freePort, startChild, waitReady, type Child } from './processes';

export interface SidecarOptions {
  entry: string;
  dir: string;
  /** `--upstream` values, e.g. openai=http://127.0.0.1:1234 */
  upstreams: readonly string[];
  otlpEndpoint: string;
  exportIntervalMs: number;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeFlags?: readonly string[];
  /** Distinguishes log files when several are started. */
  label?: string;
  /** More `run` flags. */
  extraArgs?: readonly string[];
  /**
   * What runs in place of this process's node binary: a command line whose last element is the
   * node binary to use (../memory.ts: a shell that joins a memory cgroup, then execs node).
   */
  launcher?: readonly [string, ...string[]];
}

export interface RunningSidecar {
  child: Child;
  url: string;
  adminUrl: string;
  /** Spawn to first 200 from /readyz, ms. */
  readyMs: number;
}

export async function startSidecarProcess(options: SidecarOptions): Promise<RunningSidecar> {
  const port = await freePort();
  const adminPort = await freePort();
  const args = [
    // As the image runs it, plus any flags of the run (e.g. --cpu-prof).
    ...runtimeNodeFlags(options.entry),
    ...(options.nodeFlags ?? []),
    options.entry,
    'run',
    '--listen',
    `127.0.0.1:${port}`,
    '--admin-listen',
    `127.0.0.1:${adminPort}`,
    ...options.upstreams.flatMap((upstream) => ['--upstream', upstream]),
    '--otlp-endpoint',
    options.otlpEndpoint,
    '--export-interval',
    String(options.exportIntervalMs),
    '--log-level',
    'warn',
    ...(options.extraArgs ?? []),
  ];
  const name = `sidecar${options.label ? `-${options.label}` : ''}`;
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const since = performance.now();
  const [command, ...prefix] = options.launcher ?? [process.execPath];
  const child = startChild(name, command, [...prefix, ...args], path.join(options.dir, `${name}.log`));
  const readyMs = await waitReady(child, `${adminUrl}/readyz`, since);
  return { child, url: `http://127.0.0.1:${port}`, adminUrl, readyMs };
}

/** src/cli/runtimeFlags.ts, compiled next to the entry (the bench builds outside src/). */
export function runtimeNodeFlags(entry: string): readonly string[] {
  const loaded = require(path.join(path.dirname(entry), 'runtimeFlags.js')) as { RUNTIME_NODE_FLAGS?: unknown };
  const flags = loaded.RUNTIME_NODE_FLAGS;
  if (!Array.isArray(flags) || !flags.every((flag) => typeof flag === 'string')) throw new Error(`no RUNTIME_NODE_FLAGS next to ${entry}`);
  return flags as string[];
}
