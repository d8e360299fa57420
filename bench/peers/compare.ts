/**
 * Does a contender give the client what a direct call gives it? Body bytes compared whole, and the
 * provider's headers (as the direct client saw them) checked for whether they arrived unchanged.
 * Pure.
 */
import { SENT_FIELD } from '../lib/sseEvents';

/** What a client received for one call. */
export interface ClientAnswer {
  status: number;
  /** Lower-case names. */
  headers: Readonly<Record<string, string>>;
  body: string;
}

export interface Comparison {
  sameStatus: boolean;
  sameBody: boolean;
  directBytes: number;
  bytes: number;
  /** The first byte that differs, with a little of each side from there. */
  firstDifference?: { offset: number; direct: string; other: string };
  /** Provider headers the direct client got that this client did not. */
  headersDropped: string[];
  /** Provider headers that reached this client with another value. */
  headersChanged: string[];
}

/** Set by whichever server answers the connection, not by the provider. */
const CONNECTION_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length']);
const EXCERPT_CHARS = 60;
const SENT_VALUE = new RegExp(`"${SENT_FIELD}":-?[0-9.]+(?:e[-+]?[0-9]+)?`, 'g');

/** The bench's fake stamps each event with the time it wrote it; blank those to compare two calls. */
export function withoutSendTimes(body: string): string {
  return body.replace(SENT_VALUE, `"${SENT_FIELD}":0`);
}

function firstDifference(direct: string, other: string): Comparison['firstDifference'] {
  const length = Math.min(direct.length, other.length);
  let offset = 0;
  while (offset < length && direct.charCodeAt(offset) === other.charCodeAt(offset)) offset += 1;
  if (offset === direct.length && offset === other.length) return undefined;
  return { offset, direct: direct.slice(offset, offset + EXCERPT_CHARS), other: other.slice(offset, offset + EXCERPT_CHARS) };
}

export function compareAnswers(direct: ClientAnswer, other: ClientAnswer): Comparison {
  const difference = firstDifference(direct.body, other.body);
  const providerHeaders = Object.entries(direct.headers).filter(([name]) => !CONNECTION_HEADERS.has(name));
  return {
    sameStatus: direct.status === other.status,
    sameBody: difference === undefined,
    directBytes: Buffer.byteLength(direct.body),
    bytes: Buffer.byteLength(other.body),
    ...(difference ? { firstDifference: difference } : {}),
    headersDropped: providerHeaders.filter(([name]) => other.headers[name] === undefined).map(([name]) => name),
    headersChanged: providerHeaders.filter(([name, value]) => other.headers[name] !== undefined && other.headers[name] !== value).map(([name]) => name),
  };
}

/** Names shortened to their family where several share one (x-ratelimit-limit-requests, ... -> x-ratelimit-*). */
export function headerFamilies(names: readonly string[]): string[] {
  const families = new Map<string, number>();
  for (const name of names) {
    const family = name.split('-').slice(0, 2).join('-');
    families.set(family, (families.get(family) ?? 0) + 1);
  }
  const out = new Set<string>();
  for (const name of names) {
    const family = name.split('-').slice(0, 2).join('-');
    out.add((families.get(family) ?? 0) > 1 ? `${family}-*` : name);
  }
  return [...out];
}

/** One cell of the correctness table. */
export function describeComparison(comparison: Comparison): string {
  const parts: string[] = [];
  if (!comparison.sameStatus) parts.push('different status');
  if (comparison.sameBody) parts.push('same bytes');
  else {
    const at = comparison.firstDifference;
    parts.push(`different bytes (${comparison.bytes} vs ${comparison.directBytes}${at ? `, from byte ${at.offset}` : ''})`);
  }
  if (comparison.headersDropped.length > 0) parts.push(`drops ${headerFamilies(comparison.headersDropped).join(', ')}`);
  if (comparison.headersChanged.length > 0) parts.push(`changes ${headerFamilies(comparison.headersChanged).join(', ')}`);
  return parts.join('; ');
}
