/**
 * Opt-in mapping of request headers (tenant, team, feature…) to metric attributes. Each
 * attribute has its own distinct-value budget; overflow becomes `_OTHER`.
 */
import type { IncomingMessage } from 'node:http';
import type { HeaderAttribute } from '../config/config';
import { CardinalityLimiter } from '../telemetry/cardinality';

export function createHeaderAttributeMapper(
  mappings: readonly HeaderAttribute[],
  maxValues: number,
): (req: IncomingMessage) => Record<string, string> {
  if (mappings.length === 0) return () => EMPTY;
  const limited = mappings.map((mapping) => ({ ...mapping, limiter: new CardinalityLimiter(maxValues, 64) }));
  return (req) => {
    const attributes: Record<string, string> = {};
    for (const { header, attribute, limiter } of limited) {
      const raw = req.headers[header];
      const value = Array.isArray(raw) ? raw[0] : raw;
      if (value !== undefined && value !== '') attributes[attribute] = limiter.admit(value.trim());
    }
    return attributes;
  };
}

const EMPTY: Record<string, string> = Object.freeze({}) as Record<string, string>;
