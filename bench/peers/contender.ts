/**
 * What the peers section measures side by side: the direct call, the sidecar and each peer
 * (another proxy a platform team might deploy instead). Each says how a client calls it: the URL,
 * headers and body it sends for one API call. Pure types and request builders.
 */
import { REQUEST_HEADERS } from '../lib/payloads';
import type { Child } from '../servers/processes';

/** Which of the bench's fake providers a call is meant for. */
export type Upstream = 'origin' | 'paced' | 'corpus';

/** The API a call uses; it decides the path on every contender. */
export type Api = 'chat' | 'messages';

export const API_PATHS: Readonly<Record<Api, string>> = {
  chat: '/v1/chat/completions',
  messages: '/v1/messages',
};

/** One API call as the direct client makes it, before a contender adapts it. */
export interface Call {
  upstream: Upstream;
  api: Api;
  /** JSON request body (the `model` may be renamed by a peer that routes on it). */
  body: string;
  /** Headers beyond REQUEST_HEADERS (content-type and a bearer key). */
  headers: Readonly<Record<string, string>>;
}

/** What a client sends to one contender for one call. */
export interface PathRequest {
  url: string;
  /** Every header the client sends, REQUEST_HEADERS included. */
  headers: Readonly<Record<string, string>>;
  body: string;
}

/** Base URLs (no path) of the fake providers, chosen at run time. */
export type UpstreamUrls = Readonly<Record<Upstream, string>>;

/** A contender the bench can load: how to call it and which process does its work. */
export interface Contender {
  name: string;
  /** Shown under the table: what ran, at which version, configured how. */
  description: string;
  /** The process whose CPU and memory are read (direct: the plain-JSON origin). */
  pid?: number;
  /** Spawn to ready, ms, per start (absent for direct). */
  startupMs?: number[];
  request(call: Call): PathRequest;
}

/** A started peer: its process, and how clients call it. */
export interface RunningPeer {
  child: Child;
  /** Spawn to ready, ms. */
  readyMs: number;
  version: string;
  request(call: Call): PathRequest;
}

export interface PeerStartOptions {
  /** What scripts/peers-env.sh installed for this peer (its python, its start script). */
  entry: string;
  /** The run's temp dir: logs and generated files go here. */
  dir: string;
  upstreams: UpstreamUrls;
  /** Distinguishes log files when a peer is started several times. */
  label: string;
}

/** One peer: how it is started as its users would run it, and what it is. */
export interface PeerDefinition {
  name: string;
  /** One line on how it is configured, for the report. */
  configuration: string;
  start(options: PeerStartOptions): Promise<RunningPeer>;
}

/** The bearer key the bench's clients send (nothing checks it but LiteLLM, which takes it as its master key). */
export function clientKey(): string {
  return (REQUEST_HEADERS.authorization ?? '').replace(/^Bearer /, '');
}

/** The call with the client's usual headers. */
export function withClientHeaders(call: Call, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return { ...REQUEST_HEADERS, ...call.headers, ...extra };
}

/** The direct client: straight to the fake provider. */
export function directRequest(upstreams: UpstreamUrls, call: Call): PathRequest {
  return { url: `${upstreams[call.upstream]}${API_PATHS[call.api]}`, headers: withClientHeaders(call), body: call.body };
}

/**
 * The sidecar's route for a call: `openai` and `openai-paced` as bench/environment.ts names them,
 * and two routes to the corpus fake that the peers section adds (sidecarCorpusUpstreams).
 */
export function sidecarRoute(call: Pick<Call, 'upstream' | 'api'>): string {
  if (call.api === 'messages') {
    if (call.upstream !== 'corpus') throw new Error(`no Anthropic route to the ${call.upstream} fake`);
    return 'anthropic-corpus';
  }
  return { origin: 'openai', paced: 'openai-paced', corpus: 'openai-corpus' }[call.upstream];
}

/** The sidecar's `--upstream` values for the corpus fake's routes. */
export function sidecarCorpusUpstreams(corpusUrl: string): string[] {
  return [`openai-corpus:openai=${corpusUrl}`, `anthropic-corpus:anthropic=${corpusUrl}`];
}

/** Through the sidecar: the route name goes in front of the provider's path, nothing else changes. */
export function sidecarRequest(sidecarUrl: string, call: Call): PathRequest {
  return { url: `${sidecarUrl}/${sidecarRoute(call)}${API_PATHS[call.api]}`, headers: withClientHeaders(call), body: call.body };
}
