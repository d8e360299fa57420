/**
 * The LiteLLM proxy as a peer: `python -m litellm.proxy.proxy_cli` from the virtual environment
 * scripts/peers-env.sh made, with bench/peers/litellm/config.yaml (its comments say why each
 * setting). One worker, its default: one process per pod, as the sidecar is.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../tools';
import { API_PATHS, clientKey, withClientHeaders, type Call, type PathRequest, type PeerDefinition, type RunningPeer, type UpstreamUrls } from './contender';
import { launchPeer } from './launch';

/** LiteLLM picks a deployment by model name; config.yaml names the paced fake's deployment this. */
export const LITELLM_PACED_MODEL = 'gpt-4o-mini-paced';
/** LiteLLM's own start-up (imports, config, routes) takes seconds; a cold first start far more. */
const READY_TIMEOUT_MS = 180_000;

/** The call as a LiteLLM client makes it: same path and headers, the model renamed where config.yaml routes on it. */
export function litellmRequest(baseUrl: string, call: Call): PathRequest {
  let body = call.body;
  if (call.upstream === 'paced') {
    const parsed = JSON.parse(call.body) as Record<string, unknown>;
    body = JSON.stringify({ ...parsed, model: LITELLM_PACED_MODEL });
  }
  return { url: `${baseUrl}${API_PATHS[call.api]}`, headers: withClientHeaders(call), body };
}

/** Environment of the proxy: config.yaml's os.environ/ values, its log level, and no fetches from the internet. */
export function litellmEnvironment(upstreams: UpstreamUrls): NodeJS.ProcessEnv {
  const key = clientKey();
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LITELLM_MASTER_KEY: key,
    OPENAI_API_KEY: key,
    ANTHROPIC_API_KEY: key,
    BENCH_ORIGIN_BASE: `${upstreams.origin}/v1`,
    BENCH_PACED_BASE: `${upstreams.paced}/v1`,
    BENCH_CORPUS_OPENAI_BASE: `${upstreams.corpus}/v1`,
    BENCH_CORPUS_ANTHROPIC_BASE: upstreams.corpus,
    // "Logging at warning", as the sidecar runs at warn.
    LITELLM_LOG: 'WARNING',
    // LiteLLM's production checklist: no .env loading from the working directory.
    LITELLM_MODE: 'PRODUCTION',
    // Everything stays on loopback: by default LiteLLM downloads its price table and a few
    // other lists at start-up (and waits for retries when it cannot). An air-gapped cluster
    // sets the same.
    LITELLM_LOCAL_MODEL_COST_MAP: 'True',
    LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS: 'True',
    LITELLM_LOCAL_BLOG_POSTS: 'True',
    LITELLM_LOCAL_POLICY_TEMPLATES: 'True',
    LITELLM_LOCAL_AUTOROUTER_PRESETS: 'True',
    PYTHONUNBUFFERED: '1',
  };
}

/** The installed litellm's version, from its dist-info folder in the environment that `python` runs from. */
export function installedVersion(python: string): string {
  const lib = path.join(path.dirname(path.dirname(python)), 'lib');
  try {
    for (const pythonDir of readdirSync(lib)) {
      for (const entry of readdirSync(path.join(lib, pythonDir, 'site-packages'))) {
        const match = /^litellm-([^-]+)\.dist-info$/.exec(entry);
        if (match?.[1]) return match[1];
      }
    }
  } catch {
    // not a virtual environment laid out as venv makes them
  }
  return 'unknown';
}

export const litellm: PeerDefinition = {
  name: 'litellm',
  configuration:
    'LiteLLM proxy, 1 worker (its default), config bench/peers/litellm/config.yaml: one OpenAI-compatible deployment per fake provider, its Prometheus callback on, master key, no database, LITELLM_LOG=WARNING',
  async start(options): Promise<RunningPeer> {
    const config = path.join(repoRoot(), 'bench/peers/litellm/config.yaml');
    const { child, readyMs, url } = await launchPeer({
      name: 'litellm',
      label: options.label,
      dir: options.dir,
      command: options.entry,
      args: (port) => ['-m', 'litellm.proxy.proxy_cli', '--config', config, '--host', '127.0.0.1', '--port', String(port), '--num_workers', '1'],
      // The readiness route Kubernetes would probe; it answers once the app's start-up has run.
      readyPath: '/health/readiness',
      readyTimeoutMs: READY_TIMEOUT_MS,
      pollMs: 20,
      env: litellmEnvironment(options.upstreams),
    });
    return { child, readyMs, version: installedVersion(options.entry), request: (call) => litellmRequest(url, call) };
  },
};
