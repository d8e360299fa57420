/**
 * The upstream connection pool and its deadlines: connecting, waiting for the response head,
 * and silence between body chunks. Defaults are long because reasoning models may think for
 * minutes before they answer; the point is that a dead provider never holds a client forever.
 *
 * Why undici and not node:http's client: on the 2-core bench machine a bare forwarder topped out
 * at 5,000-6,000 req/s on node:http's client and at 8,600-10,600 on undici's dispatcher (issue 5).
 * undici also enforces the three deadlines itself, with one timer per connection, and does not
 * count time a slow client makes us pause the body as upstream silence.
 */
import { Agent } from 'undici';

export interface UpstreamTimeouts {
  connectMs: number;
  /** Request fully sent -> response head received. */
  firstByteMs: number;
  /** Longest silence between two body chunks. */
  idleMs: number;
}

/** How long an idle keep-alive connection to a provider is kept for the next call. */
const KEEP_ALIVE_MS = 60_000;
/** Connections per provider origin; calls beyond this wait in the pool's queue. */
const CONNECTIONS_PER_ORIGIN = 512;

export function createUpstreamPool(timeouts: UpstreamTimeouts): Agent {
  return new Agent({
    connections: CONNECTIONS_PER_ORIGIN,
    // Keep-alive: a TLS handshake per LLM call would add tens of milliseconds.
    keepAliveTimeout: KEEP_ALIVE_MS,
    keepAliveMaxTimeout: KEEP_ALIVE_MS,
    connect: { timeout: timeouts.connectMs },
    headersTimeout: timeouts.firstByteMs,
    bodyTimeout: timeouts.idleMs,
  });
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** A failure of the upstream leg: did a deadline end it, and the error's code for the answer's message. */
export function classifyUpstreamError(error: Error): { timedOut: boolean; code: string | undefined } {
  const code = (error as NodeJS.ErrnoException).code;
  return { timedOut: code !== undefined && TIMEOUT_CODES.has(code), code };
}
