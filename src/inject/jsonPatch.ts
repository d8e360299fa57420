/**
 * The difference between a template before and after injection, as changes both outputs can
 * apply: RFC 6902 JSONPatch for the webhook, edits of the YAML document for `inject`.
 *
 * Injection only appends to lists and adds keys, so the diff stays small: maps are compared key
 * by key, lists element by element with new elements appended (`/-`). A missing parent (no
 * `annotations`, no `initContainers`, no `env`) becomes one `add` of the whole new value, never an
 * add into a parent that does not exist.
 */
import { isDeepStrictEqual } from 'node:util';
import { isObject } from './json';

export type PathSegment = string | number;

export type Change =
  | { op: 'add'; path: PathSegment[]; value: unknown }
  | { op: 'replace'; path: PathSegment[]; value: unknown }
  | { op: 'remove'; path: PathSegment[] };

/** `-` as the last segment of an `add` means "append to the list". */
export const APPEND = '-';

export function diff(before: unknown, after: unknown, path: PathSegment[] = []): Change[] {
  if (isObject(before) && isObject(after)) return diffObjects(before, after, path);
  if (Array.isArray(before) && Array.isArray(after)) return diffArrays(before, after, path);
  return isDeepStrictEqual(before, after) ? [] : [{ op: 'replace', path, value: after }];
}

function diffObjects(before: Record<string, unknown>, after: Record<string, unknown>, path: PathSegment[]): Change[] {
  const changes: Change[] = [];
  for (const [key, value] of Object.entries(after)) {
    if (value === undefined) continue;
    if (!has(before, key)) changes.push({ op: 'add', path: [...path, key], value });
    else changes.push(...diff(before[key], value, [...path, key]));
  }
  for (const key of Object.keys(before)) {
    if (has(before, key) && !has(after, key)) changes.push({ op: 'remove', path: [...path, key] });
  }
  return changes;
}

/** Own keys only: a key such as `valueOf` or `constructor` must not find the prototype's. */
function has(object: Record<string, unknown>, key: string): boolean {
  return Object.hasOwn(object, key) && object[key] !== undefined;
}

function diffArrays(before: readonly unknown[], after: readonly unknown[], path: PathSegment[]): Change[] {
  const common = Math.min(before.length, after.length);
  const changes: Change[] = [];
  for (let index = 0; index < common; index += 1) changes.push(...diff(before[index], after[index], [...path, index]));
  for (let index = common; index < after.length; index += 1) changes.push({ op: 'add', path: [...path, APPEND], value: after[index] });
  // Remove from the end so earlier indexes stay valid.
  for (let index = before.length - 1; index >= common; index -= 1) changes.push({ op: 'remove', path: [...path, index] });
  return changes;
}

/** RFC 6901: `~` becomes `~0` first, then `/` becomes `~1` (`genai-sidecar.io/status` -> `genai-sidecar.io~1status`). */
export function escapePointerSegment(segment: PathSegment): string {
  return String(segment).replace(/~/g, '~0').replace(/\//g, '~1');
}

export function toPointer(path: readonly PathSegment[]): string {
  return path.map((segment) => `/${escapePointerSegment(segment)}`).join('');
}

export type JsonPatchOperation = { op: 'add' | 'replace'; path: string; value: unknown } | { op: 'remove'; path: string };

export function toJsonPatch(changes: readonly Change[], prefix: readonly PathSegment[] = []): JsonPatchOperation[] {
  return changes.map((change) =>
    change.op === 'remove'
      ? { op: 'remove', path: toPointer([...prefix, ...change.path]) }
      : { op: change.op, path: toPointer([...prefix, ...change.path]), value: change.value },
  );
}
