/**
 * The upstream connection pool and its deadlines: connecting, waiting for the response head,
 * and silence between body chunks. Defaults are long because reasoning models may think for
 * minutes before they answer; the point is that a dead provider never holds a client forever.
 *
 * Why undici and not node:http's client: a bare forwarder on undici's dispatcher reached about
 * 1.7x the requests per second of one on node:http's client. undici also enforces the three
 * deadlines itself, with one timer per connection, and does not count time a slow client makes us
 * pause the body as upstream silence.
 */
import type { Agent, buildConnector, Dispatcher } from 'undici';
import { filterInterimContinue } from './interimContinue';

/**
 * Only the connection pool, not undici's index: the index also loads fetch, WebSocket,
 * EventSource and caches, which triples the load time (~105 ms against ~34 ms). The path is
 * internal, so package.json pins undici's exact version.
 */
function loadAgentClass(): typeof Agent {
  return require('undici/lib/dispatcher/agent.js') as typeof Agent;
}

function loadBuildConnector(): typeof buildConnector {
  return require('undici/lib/core/connect.js') as typeof buildConnector;
}

/**
 * undici's own connector (TCP or TLS, its connect timeout, TLS session reuse), with each new
 * socket wrapped so interim `100 Continue` answers are dropped (see interimContinue.ts).
 */
function connectorDroppingContinue(connectMs: number): buildConnector.connector {
  const connect = loadBuildConnector()({ timeout: connectMs });
  return (options, callback) =>
    connect(options, (...args) => {
      if (args[0] === null) filterInterimContinue(args[1]);
      callback(...args);
    });
}

export interface UpstreamTimeouts {
  connectMs: number;
  /** Request fully sent -> response head received. */
  firstByteMs: number;
  /** Longest silence between two body chunks. */
  idleMs: number;
}

/** `--connect-timeout`, `--first-byte-timeout` and `--idle-timeout` when not given. */
export const DEFAULT_UPSTREAM_TIMEOUTS: Readonly<UpstreamTimeouts> = Object.freeze({ connectMs: 10_000, firstByteMs: 600_000, idleMs: 300_000 });

/** How long an idle keep-alive connection to a provider is kept for the next call. */
const KEEP_ALIVE_MS = 60_000;
/** Connections per provider origin; calls beyond this wait in the pool's queue. */
const CONNECTIONS_PER_ORIGIN = 512;

/** What the proxy needs of the pool; the pool itself is built on first use or on `warm()`. */
export interface UpstreamPool extends Pick<Dispatcher, 'dispatch'> {
  /** Load and build the pool now (called shortly after the sidecar reports ready). */
  warm(): void;
  destroy(): Promise<void>;
}

/**
 * Loading undici takes ~34 ms, a tenth of the start-up budget, so it happens after the sidecar is
 * ready: the sidecar calls `warm()` shortly after, and a call that arrives before that builds the
 * pool itself. Either way there is exactly one pool.
 */
export function createUpstreamPool(timeouts: UpstreamTimeouts): UpstreamPool {
  let agent: Agent | undefined;
  const built = (): Agent => {
    if (agent === undefined) {
      const AgentClass = loadAgentClass();
      agent = new AgentClass({
        connections: CONNECTIONS_PER_ORIGIN,
        // Keep-alive: a TLS handshake per LLM call would add tens of milliseconds.
        keepAliveTimeout: KEEP_ALIVE_MS,
        keepAliveMaxTimeout: KEEP_ALIVE_MS,
        connect: connectorDroppingContinue(timeouts.connectMs),
        // One request at a time per connection: the interim filter relies on it, and providers
        // do not pipeline anyway.
        pipelining: 1,
        headersTimeout: timeouts.firstByteMs,
        bodyTimeout: timeouts.idleMs,
      });
    }
    return agent;
  };
  let destroyed = false;
  return {
    dispatch: (options, handler) => built().dispatch(options, handler),
    // A pool destroyed before it was ever built stays unbuilt.
    warm: () => {
      if (!destroyed) built();
    },
    destroy: () => {
      destroyed = true;
      return agent?.destroy() ?? Promise.resolve();
    },
  };
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** A failure of the upstream leg: did a deadline end it, and the error's code for the answer's message. */
export function classifyUpstreamError(error: Error): { timedOut: boolean; code: string | undefined } {
  const code = (error as NodeJS.ErrnoException).code;
  return { timedOut: code !== undefined && TIMEOUT_CODES.has(code), code };
}
