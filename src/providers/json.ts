/**
 * Defensive readers for untrusted provider JSON: every accessor returns undefined
 * instead of throwing, so a surprising payload never breaks observation.
 */

import type { JsonMembers } from './types';

export type JsonObject = Record<string, unknown>;

export function asObject(value: unknown): JsonObject | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
}

export function field(value: unknown, ...path: string[]): unknown {
  let current: unknown = value;
  for (const key of path) {
    const object = asObject(current);
    if (!object) return undefined;
    current = object[key];
  }
  return current;
}

/**
 * A token count: a non-negative integer no larger than doubles hold exactly. Anything else is
 * "not reported" (a huge value is garbage, and sums of two such overflow to Infinity).
 */
export function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

export function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** Error identifiers may be strings or numbers (OpenRouter sends `code: 400`). */
export function identifier(value: unknown): string | undefined {
  if (typeof value === 'string' && value.length > 0) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/**
 * Sum of the parts that were reported; undefined when none was. A sum past 2^53 is garbage too:
 * doubles round it, so it would be a count the provider never sent.
 */
export function sumReported(...parts: Array<number | undefined>): number | undefined {
  let total: number | undefined;
  for (const part of parts) if (part !== undefined) total = (total ?? 0) + part;
  return total === undefined || Number.isSafeInteger(total) ? total : undefined;
}

/** Record an error the provider reported in the body; `code` may be missing. */
export function markFailed(facts: { failed?: boolean; errorCode?: string }, code: string | undefined): void {
  facts.failed = true;
  if (code !== undefined) facts.errorCode = code;
}

export function parseJson(textValue: string): unknown {
  try {
    return JSON.parse(textValue) as unknown;
  } catch {
    return undefined;
  }
}

/** The members of a value that is already parsed (a whole body, an item of a JSON-array stream). */
export function membersOf(value: unknown): JsonMembers {
  const object = asObject(value);
  // Own members only: `constructor` or `__proto__` must not read the prototype's.
  const own = (name: string): boolean => object !== undefined && Object.hasOwn(object, name);
  return {
    isObject: object !== undefined,
    has: own,
    get: (name) => (own(name) ? object?.[name] : undefined),
    hasItems: (name) => {
      const member = own(name) ? object?.[name] : undefined;
      return Array.isArray(member) && member.length > 0;
    },
  };
}
