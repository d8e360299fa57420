/**
 * The Portkey gateway as a peer: `node build/start-server.js --port=N` from the npm package that
 * scripts/peers-env.sh installed, as its Docker image runs it (`npm run start:node`: default
 * logging, its local log UI on, plain node with no flags). Portkey keeps no provider list of its
 * own: each request names its provider and, for a provider at a custom address, that address in
 * x-portkey-* headers, which is how its docs point it at a self-hosted OpenAI-compatible server.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { API_PATHS, withClientHeaders, type Call, type PathRequest, type PeerDefinition, type RunningPeer, type UpstreamUrls } from './contender';
import { launchPeer } from './launch';

/** The headers a Portkey client adds to a call: which provider, and where it listens. */
export function portkeyHeaders(upstreams: UpstreamUrls, call: Pick<Call, 'upstream' | 'api'>): Record<string, string> {
  const provider = call.api === 'messages' ? 'anthropic' : 'openai';
  return { 'x-portkey-provider': provider, 'x-portkey-custom-host': `${upstreams[call.upstream]}/v1` };
}

/** The call as a Portkey client makes it: same path and body, its routing headers added. */
export function portkeyRequest(baseUrl: string, upstreams: UpstreamUrls, call: Call): PathRequest {
  return { url: `${baseUrl}${API_PATHS[call.api]}`, headers: withClientHeaders(call, portkeyHeaders(upstreams, call)), body: call.body };
}

/** The gateway's package version, read next to its start script. */
function installedVersion(entry: string): string {
  try {
    const manifest = JSON.parse(readFileSync(path.join(path.dirname(entry), '..', 'package.json'), 'utf8')) as { version?: unknown };
    return typeof manifest.version === 'string' ? manifest.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export const portkey: PeerDefinition = {
  name: 'portkey',
  configuration:
    'Portkey gateway, node build/start-server.js as its image runs it (default logging, no node flags), provider and custom host in x-portkey-* headers per request; hono and @hono/node-server at the versions its own lock file ships (bench/peers/portkey/package.json says why)',
  async start(options): Promise<RunningPeer> {
    const { child, readyMs, url } = await launchPeer({
      name: 'portkey',
      label: options.label,
      dir: options.dir,
      command: process.execPath,
      args: (port) => ['--require', path.join(__dirname, 'loopbackListen.js'), options.entry, `--port=${port}`],
      // `GET /` answers "AI Gateway says hey!" once the server listens.
      readyPath: '/',
      readyTimeoutMs: 30_000,
      pollMs: 2,
    });
    return { child, readyMs, version: installedVersion(options.entry), request: (call) => portkeyRequest(url, options.upstreams, call) };
  },
};
