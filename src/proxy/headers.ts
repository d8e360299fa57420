/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, not the message: they are
 * dropped in both directions. Everything else passes through with its original case and order.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

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

/** Lower-cased names listed in a `Connection` header are hop-by-hop too. */
function connectionListed(connection: string | string[] | undefined): Set<string> {
  const value = Array.isArray(connection) ? connection.join(',') : (connection ?? '');
  return new Set(
    value
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter(Boolean),
  );
}

export function isHopByHop(name: string, listed: Set<string>): boolean {
  const lower = name.toLowerCase();
  return HOP_BY_HOP.has(lower) || listed.has(lower);
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

/** Remove hop-by-hop headers from the outgoing request that the proxy library copied over. */
export function stripHopByHop(
  headers: IncomingHttpHeaders | OutgoingHttpHeaders,
  remove: (name: string) => void,
): void {
  const connection = headers.connection;
  const listed = connectionListed(typeof connection === 'number' ? String(connection) : connection);
  for (const name of Object.keys(headers)) if (isHopByHop(name, listed)) remove(name);
}
