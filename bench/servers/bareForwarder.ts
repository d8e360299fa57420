/**
 * Starts ./bareForwarderMain (the floor of a Node forwarder) as a child process with the
 * sidecar's node flags, pool and header rules, on the same route names, and waits until it
 * answers /readyz.
 */
import path from 'node:path';
import { freePort, startChild, waitReady, type Child } from './processes';
import { runtimeNodeFlags } from './sidecar';

export interface BareForwarderOptions {
  /** The sidecar's entry, dist/src/cli/main.js (its node flags are read next to it, its modules from dist/src). */
  sidecarEntry: string;
  dir: string;
  /** Route name -> origin, as the sidecar's `--upstream` values name them. */
  routes: Readonly<Record<string, string>>;
}

export interface RunningBareForwarder {
  child: Child;
  url: string;
}

export async function startBareForwarder(options: BareForwarderOptions): Promise<RunningBareForwarder> {
  const port = await freePort();
  const main = path.join(__dirname, 'bareForwarderMain.js');
  const routes = Object.entries(options.routes).map(([name, origin]) => `${name}=${origin}`);
  const sidecarDir = path.dirname(path.dirname(options.sidecarEntry));
  const args = [...runtimeNodeFlags(options.sidecarEntry), main, sidecarDir, String(port), ...routes];
  const url = `http://127.0.0.1:${port}`;
  const since = performance.now();
  const child = startChild('bare-node', process.execPath, args, path.join(options.dir, 'bare-node.log'));
  await waitReady(child, `${url}/readyz`, since);
  return { child, url };
}
