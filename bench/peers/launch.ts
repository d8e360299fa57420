/** Starting a peer's process: a free loopback port, its log beside the run's others, and its ready route. */
import path from 'node:path';
import { freePort, startChild, waitReady, type Child } from '../servers/processes';

export interface LaunchSpec {
  /** The peer's name; with `label`, the process's and its log file's name. */
  name: string;
  label: string;
  dir: string;
  command: string;
  args(port: number): string[];
  /** A route that answers 200 once the peer serves calls. */
  readyPath: string;
  readyTimeoutMs: number;
  pollMs: number;
  env?: NodeJS.ProcessEnv;
}

export async function launchPeer(spec: LaunchSpec): Promise<{ child: Child; readyMs: number; url: string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const since = performance.now();
  const child = startChild(`${spec.name}-${spec.label}`, spec.command, spec.args(port), path.join(spec.dir, `${spec.name}-${spec.label}.log`), spec.env);
  const readyMs = await waitReady(child, `${url}${spec.readyPath}`, since, spec.readyTimeoutMs, spec.pollMs);
  return { child, readyMs, url };
}
