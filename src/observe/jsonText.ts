/**
 * Text-level JSON edits that keep every other byte as the provider (or the client) wrote it.
 * Re-serialising with JSON.stringify would change number formatting and escapes (and lose the
 * precision of integers past 2^53), and each side must see exactly what the other sent.
 */
import { keyIs, type MemberSpan, type ObjectLayout } from './jsonLayout';

const COMMA_BYTES = Buffer.from(',');
/** Serialised members of frozen edits, so one a dialect asks for on every call is serialised once. */
const serialisedEdits = new WeakMap<object, Buffer>();

/**
 * `body` (a JSON object as bytes, `layout` its objectLayout) with the top-level `members` set:
 * every existing member of the same name is removed (the last duplicate is the one parsers keep)
 * and the new ones are inserted first; every other byte is kept. A frozen `members` (values
 * frozen too: it is never serialised again) is serialised on first use only.
 */
export function setTopLevelMembers(body: Buffer, layout: ObjectLayout, members: Readonly<Record<string, unknown>>): Buffer {
  const names = Object.keys(members);
  const replaced = layout.members.filter((member) => names.some((name) => keyIs(body, member, name)));
  const parts = [body.subarray(0, layout.open + 1), serialisedMembers(names, members)];
  if (layout.members.length > replaced.length) parts.push(COMMA_BYTES);
  // The usual case (a streaming request without stream_options): one insertion, nothing to cut.
  let from = layout.open + 1;
  if (replaced.length > 0) {
    for (const [cutFrom, cutTo] of memberCuts(layout, (member) => replaced.includes(member))) {
      parts.push(body.subarray(from, cutFrom));
      from = cutTo;
    }
  }
  parts.push(body.subarray(from));
  return Buffer.concat(parts);
}

/**
 * The [from, to) byte range to cut from `bytes` (a JSON object, `layout` its objectLayout) so
 * that its first top-level member named `key` is gone with its separating comma. Undefined when
 * the object has no such member. The cut falls on ASCII bytes, so each side stays valid UTF-8.
 */
export function topLevelMemberCut(bytes: Buffer, layout: ObjectLayout, key: string): readonly [number, number] | undefined {
  const target = layout.members.find((member) => keyIs(bytes, member, key));
  return target && memberCuts(layout, (member) => member === target)[0];
}

/**
 * The [from, to) ranges to cut so that the members `removed` picks are gone and the commas stay
 * balanced, in ascending order. A member after the first kept one goes with the comma before it;
 * members before it go with the comma that follows them.
 */
function memberCuts(layout: ObjectLayout, removed: (member: MemberSpan) => boolean): Array<[number, number]> {
  const { members } = layout;
  const firstKept = members.findIndex((member) => !removed(member));
  if (firstKept === -1) return members.length > 0 ? [[layout.open + 1, layout.close]] : [];
  const cuts: Array<[number, number]> = [];
  if (firstKept > 0) cuts.push([layout.open + 1, (members[firstKept] as MemberSpan).separator + 1]);
  for (const member of members.slice(firstKept + 1)) if (removed(member)) cuts.push([member.separator, member.end]);
  return cuts;
}

function serialisedMembers(names: readonly string[], members: Readonly<Record<string, unknown>>): Buffer {
  const cached = serialisedEdits.get(members);
  if (cached !== undefined) return cached;
  const text = Buffer.from(names.map((name) => `${JSON.stringify(name)}:${JSON.stringify(members[name])}`).join(','), 'utf8');
  if (Object.isFrozen(members)) serialisedEdits.set(members, text);
  return text;
}
