/**
 * Starting nginx (Debian's, from the benchmark's cache) with a config written to the temp dir:
 * in the foreground, one process, stopped by the benchmark.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { originConfig, reverseProxyConfig, type NginxBase, type ProxyRoute } from '../lib/nginxConfig';
import { freePort, startChild, waitReady, type Child } from './processes';

export interface RunningNginx {
  child: Child;
  url: string;
  /** Spawn to first 200 from /readyz, ms. */
  readyMs: number;
}

async function startNginx(binary: string, base: NginxBase, config: string): Promise<RunningNginx> {
  const file = path.join(base.dir, `${base.name}.conf`);
  writeFileSync(file, config);
  const since = performance.now();
  // -e: nginx opens its error log before reading the config; keep that one in the temp dir too.
  const child = startChild(base.name, binary, ['-p', base.dir, '-c', file, '-e', path.join(base.dir, `${base.name}-error.log`)], path.join(base.dir, `${base.name}.out`));
  const url = `http://127.0.0.1:${base.port}`;
  const readyMs = await waitReady(child, `${url}/readyz`, since);
  return { child, url, readyMs };
}

/** nginx answering every request with `answer` (the plain-JSON fake provider). */
export async function startOriginNginx(binary: string, dir: string, answer: string): Promise<RunningNginx> {
  const base = { dir, name: 'nginx-origin', port: await freePort() };
  return startNginx(binary, base, originConfig(base, answer));
}

/** nginx as the reverse proxy under comparison. */
export async function startProxyNginx(binary: string, dir: string, routes: readonly ProxyRoute[]): Promise<RunningNginx> {
  const base = { dir, name: 'nginx-proxy', port: await freePort() };
  return startNginx(binary, base, reverseProxyConfig(base, routes));
}
