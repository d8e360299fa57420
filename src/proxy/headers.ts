/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, not the message: they are
 * dropped in both directions. Everything else passes through with its original case and order.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

const NOTHING_LISTED: ReadonlySet<string> = new Set();

/** Lower-cased names listed in a `Connection` header are hop-by-hop too. */
function connectionListed(connection: string | string[] | undefined): ReadonlySet<string> {
  // Nearly every client and provider sends one of these; both name only hop-by-hop headers anyway.
  if (connection === 'keep-alive' || connection === 'close' || connection === 'Keep-Alive') return NOTHING_LISTED;
  const value = Array.isArray(connection) ? connection.join(',') : (connection ?? '');
  return new Set(
    value
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter(Boolean),
  );
}

export function isHopByHop(name: string, listed: ReadonlySet<string>): boolean {
  const lower = name.toLowerCase();
  return HOP_BY_HOP.has(lower) || listed.has(lower);
}

/** undici hands raw header names and values as latin1 Buffers; node's writeHead wants strings. */
export function rawHeaderStrings(raw: Dispatcher.DispatchController['rawHeaders']): string[] {
  if (!Array.isArray(raw)) return [];
  const out = new Array<string>(raw.length);
  for (let i = 0; i < raw.length; i += 1) {
    const item = raw[i];
    out[i] = typeof item === 'string' ? item : (item as Buffer).toString('latin1');
  }
  return out;
}

/** Response headers for the client as a flat [name, value, …] list, keeping the provider's case. */
export function clientResponseHeaders(rawHeaders: readonly string[], dropContentLength: boolean): string[] {
  const listed = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === 'connection') for (const t of connectionListed(rawHeaders[i + 1])) listed.add(t);
  }
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    if (isHopByHop(name, listed)) continue;
    if (dropContentLength && name.toLowerCase() === 'content-length') continue;
    out.push(name, rawHeaders[i + 1] ?? '');
  }
  return out;
}

export interface UpstreamHeaderOptions {
  /** Length of a body the sidecar already read (and maybe rewrote); undefined = the client's stream is piped. */
  contentLength?: number;
  /** Ask for an uncompressed answer (needed to remove usage data the sidecar injected). */
  identityEncoding: boolean;
}

/**
 * The client's request headers for the upstream, as a flat [name, value, ...] list in the
 * client's case and order: hop-by-hop headers dropped, `Host` set to the upstream's.
 */
export function upstreamRequestHeaders(rawHeaders: readonly string[], host: string, options: UpstreamHeaderOptions): string[] {
  const listed = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === 'connection') for (const t of connectionListed(rawHeaders[i + 1])) listed.add(t);
  }
  const bodyWasRead = options.contentLength !== undefined;
  const out: string[] = ['Host', host];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    const lower = name.toLowerCase();
    if (lower === 'host' || isHopByHop(lower, listed)) continue;
    // HTTP/2 pseudo-headers (:authority, :path, ...) are framing, never fields; an HTTP/1.1 name
    // cannot start with ':', so this only ever drops them from HTTP/2 requests.
    if (lower.startsWith(':')) continue;
    // The sidecar's server already answered the client's 100-continue; undici sends no Expect.
    if (lower === 'expect') continue;
    // A body already read has a known length.
    if (bodyWasRead && lower === 'content-length') continue;
    if (options.identityEncoding && lower === 'accept-encoding') continue;
    out.push(name, rawHeaders[i + 1] ?? '');
  }
  if (bodyWasRead) out.push('Content-Length', String(options.contentLength));
  if (options.identityEncoding) out.push('Accept-Encoding', 'identity');
  return out;
}

/**
 * Fields HTTP/2 forbids (RFC 9113 §8.2.2): node:http2 throws on all of them but `connection`,
 * which it drops with a process warning. `te` may only be `trailers`.
 */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings']);

function isConnectionSpecific(name: string, value: unknown): boolean {
  const lower = name.toLowerCase();
  return CONNECTION_SPECIFIC.has(lower) || (lower === 'te' && value !== 'trailers');
}

function isFlatList(headers: OutgoingHttpHeaders | readonly string[]): headers is readonly string[] {
  return Array.isArray(headers);
}

/**
 * Response headers for an HTTP/2 client: the same fields, in the same shape (a flat
 * [name, value, ...] list or an object), minus the connection-specific ones.
 */
export function http2ResponseHeaders(headers: OutgoingHttpHeaders | readonly string[]): OutgoingHttpHeaders | string[] {
  if (isFlatList(headers)) {
    const out: string[] = [];
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] ?? '';
      if (!isConnectionSpecific(name, headers[i + 1])) out.push(name, headers[i + 1] ?? '');
    }
    return out;
  }
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!isConnectionSpecific(name, value)) out[name] = value;
  return out;
}
