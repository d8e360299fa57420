/**
 * Reads provider rate-limit response headers into headroom readings.
 *
 * Pure: no I/O, no clock (the caller passes `nowMs`), never throws. Headers come from an
 * upstream we do not control, so every value is treated as untrusted text: a reading carries
 * only what the provider actually sent (absent is not zero) and only finite, non-negative numbers.
 */

export interface RateLimitReading {
  /** e.g. 'requests', 'tokens', 'input_tokens', 'output_tokens' ('-' normalised to '_'). */
  resource: string;
  /** Window size. */
  limit?: number;
  /** Left in the window. */
  remaining?: number;
  /** Seconds until the window resets, >= 0. */
  resetSeconds?: number;
}

type HeaderValue = string | string[] | undefined;
type Field = 'limit' | 'remaining' | 'resetSeconds';

/** Resource names become metric attribute values, so the count per response is capped. */
const MAX_READINGS = 8;
/** Kept first when the cap bites, so made-up resources cannot push out the ones dashboards use. */
const WELL_KNOWN = ['requests', 'tokens', 'input_tokens', 'output_tokens'];

const RESOURCE = '([a-z0-9_-]{1,32})';
const KIND = '(limit|remaining|reset)';
// Earlier patterns win when two headers give the same resource and field (e.g. a suffixed
// `x-ratelimit-limit-requests` next to a bare `x-ratelimit-limit`): the more specific name is trusted.
const ANTHROPIC = new RegExp(`^anthropic-ratelimit-${RESOURCE}-${KIND}$`);
const SUFFIXED = new RegExp(`^x-ratelimit-${KIND}-${RESOURCE}$`);
const BARE = new RegExp(`^x-ratelimit-${KIND}$`);

const PLAIN_NUMBER = /^\d+(?:\.\d+)?$/;
// Go's time.Duration.String() format, which OpenAI and Groq use: '6m0s', '130ms', '10.332999999s'.
const DURATION_PART = /(\d+(?:\.\d+)?)(ns|us|µs|μs|ms|h|m|s)/y;
const UNIT_SECONDS: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, μs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i;

/**
 * Seconds in a Go-style duration ('1h2m3.5s', '130ms') or a plain number of seconds ('20').
 * Anything else, negative durations included, is undefined.
 */
export function parseResetDuration(value: string): number | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  // Real values are a dozen characters; the bound keeps hostile input cheap.
  if (text === '' || text.length > 64) return undefined;
  if (PLAIN_NUMBER.test(text)) return finiteNonNegative(Number(text));
  let seconds = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < text.length) {
    const part = DURATION_PART.exec(text);
    if (part === null) return undefined;
    seconds += Number(part[1]) * UNIT_SECONDS[part[2]];
  }
  return finiteNonNegative(seconds);
}

const NO_READINGS: readonly RateLimitReading[] = Object.freeze([]);

/** Readings sorted by resource name, at most 8; `nowMs` anchors absolute reset times. */
export function readRateLimitHeaders(headers: Record<string, HeaderValue>, nowMs: number): readonly RateLimitReading[] {
  if (headers === null || typeof headers !== 'object') return NO_READINGS;

  const candidates: Array<{ rank: number; name: string; resource: string; field: Field; value: string }> = [];
  for (const [rawName, rawValue] of Object.entries(headers)) {
    const name = rawName.toLowerCase();
    // Every pattern below names "ratelimit"; most headers are rejected here without a regex.
    if (!name.includes('ratelimit')) continue;
    const value = Array.isArray(rawValue) ? rawValue[0] : rawValue;
    if (typeof value !== 'string') continue;
    let m: RegExpExecArray | null;
    if ((m = ANTHROPIC.exec(name))) candidates.push({ rank: 0, name, resource: m[1], field: toField(m[2]), value });
    else if ((m = SUFFIXED.exec(name))) candidates.push({ rank: 1, name, resource: m[2], field: toField(m[1]), value });
    else if ((m = BARE.exec(name))) candidates.push({ rank: 2, name, resource: 'requests', field: toField(m[1]), value });
  }
  // Most providers' answers (and every self-hosted one) carry none: nothing to sort or group.
  if (candidates.length === 0) return NO_READINGS;
  // Sorting makes the result independent of header order when names collide ('input-x' vs 'input_x').
  candidates.sort((a, b) => a.rank - b.rank || compare(a.name, b.name));

  const byResource = new Map<string, RateLimitReading>();
  for (const c of candidates) {
    const resource = c.resource.replace(/-/g, '_');
    let reading = byResource.get(resource);
    if (reading === undefined) byResource.set(resource, (reading = { resource }));
    if (reading[c.field] !== undefined) continue;
    const parsed = c.field === 'resetSeconds' ? parseReset(c.value, nowMs) : parseCount(c.value);
    if (parsed !== undefined) reading[c.field] = parsed;
  }

  const readings = [...byResource.values()].filter(
    (r) => r.limit !== undefined || r.remaining !== undefined || r.resetSeconds !== undefined,
  );
  const priority = (r: RateLimitReading): number => {
    const i = WELL_KNOWN.indexOf(r.resource);
    return i < 0 ? WELL_KNOWN.length : i;
  };
  readings.sort((a, b) => priority(a) - priority(b) || compare(a.resource, b.resource));
  return readings.slice(0, MAX_READINGS).sort((a, b) => compare(a.resource, b.resource));
}

function toField(kind: string): Field {
  return kind === 'reset' ? 'resetSeconds' : (kind as Field);
}

/**
 * Limits and remainders are counts. Integers only, and no larger than doubles hold exactly,
 * so the number we report is the number the provider wrote. Azure's '-1' ("unknown") is rejected.
 */
function parseCount(value: string): number | undefined {
  const text = value.trim();
  if (!/^\d{1,16}$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** A reset is a duration, an RFC 3339 instant (Anthropic) or a bare number that may be an epoch. */
function parseReset(value: string, nowMs: number): number | undefined {
  const text = value.trim();
  if (RFC3339.test(text)) return untilEpochMs(Date.parse(text), nowMs);
  if (PLAIN_NUMBER.test(text)) {
    const n = Number(text);
    // No rate-limit window lasts 30+ years, so numbers this large can only be absolute times.
    if (n > 1e12) return untilEpochMs(n, nowMs);
    if (n >= 1e9) return untilEpochMs(n * 1000, nowMs);
  }
  return parseResetDuration(text);
}

/** A reset already in the past means the window has renewed: 0, not a negative wait. */
function untilEpochMs(epochMs: number, nowMs: number): number | undefined {
  const seconds = (epochMs - nowMs) / 1000;
  return Number.isFinite(seconds) ? Math.max(0, seconds) : undefined;
}

function finiteNonNegative(n: number): number | undefined {
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
