/**
 * Starts ./bareForwarderMain (the floor of a Node forwarder) as a child process with the
 * sidecar's node flags, on the same route names, and waits until it answers /readyz.
 */
import path from 'node:path';
import { freePort, startChild, waitReady, type Child } from './processes';
import { runtimeNodeFlags } from './sidecar';

export interface BareForwarderOptions {
  /** The sidecar's entry (its node flags are read next to it). */
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
  const args = [...runtimeNodeFlags(options.sidecarEntry), main, String(port), ...routes];
  const url = `http://127.0.0.1:${port}`;
  const since = performance.now();
  const child = startChild('bare-node', process.execPath, args, path.join(options.dir, 'bare-node.log'));
  await waitReady(child, `${url}/readyz`, since);
  return { child, url };
}
