/**
 * A request body, a stream event's data or a whole JSON answer as the dialects read it
 * (JsonMembers): its top-level members are found once by objectLayout and each one is parsed only
 * when a dialect asks for it. A 200 KiB conversation in `messages`, a chat chunk's text in
 * `choices` or an embeddings answer's vectors are never decoded (about half the time of toString
 * and JSON.parse for a large embeddings answer); the include_usage splice and the usage:null strip
 * reuse the same layout.
 *
 * Invalid JSON inside a member that is never read goes unnoticed, where a whole parse would have
 * dropped the body or the event: the dialect still gets the members that do parse.
 */
import { membersOf, parseJson } from '../providers/json';
import type { JsonMembers } from '../providers/types';
import { isNonEmptyArray, keyIs, objectLayout, type MemberSpan, type ObjectLayout } from './jsonLayout';
import { topLevelMemberCut } from './jsonText';

export class LayoutMembers implements JsonMembers {
  private laidOut = false;
  private found: ObjectLayout | undefined;

  /** `bytes` is the document's UTF-8 as received (the client's body, a view into a stream chunk), not a copy. */
  constructor(private readonly bytes: Buffer) {}

  /**
   * Where the members sit in `bytes`; undefined when the bytes are not one JSON object. Found on
   * first use: a stream event whose only edit is its trailing `"usage":null` goes to the client
   * before its members are located (see memberCut).
   */
  get layout(): ObjectLayout | undefined {
    if (!this.laidOut) {
      this.found = objectLayout(this.bytes);
      this.laidOut = true;
    }
    return this.found;
  }

  get isObject(): boolean {
    return this.layout !== undefined;
  }

  has(name: string): boolean {
    return this.last(name) !== undefined;
  }

  get(name: string): unknown {
    const member = this.last(name);
    if (member === undefined) return undefined;
    try {
      return JSON.parse(this.bytes.toString('utf8', member.valueStart, member.end)) as unknown;
    } catch {
      return undefined;
    }
  }

  hasItems(name: string): boolean {
    const member = this.last(name);
    return member !== undefined && isNonEmptyArray(this.bytes, member);
  }

  /**
   * The [from, to) range of the data's bytes that removes its top-level member `name`; undefined
   * when it has none. When the object ends with it as `,"<name>":null}` (written compactly, as
   * OpenAI adds `"usage":null` to every chunk) the range is read off those last bytes alone;
   * otherwise it is the first member of that name, by layout.
   */
  memberCut(name: string): readonly [number, number] | undefined {
    return compactNullTailCut(this.bytes, name) ?? (this.layout && topLevelMemberCut(this.bytes, this.layout, name));
  }

  /** The member JSON.parse would keep: the last of duplicates. */
  private last(name: string): MemberSpan | undefined {
    const members = this.layout?.members;
    if (members === undefined) return undefined;
    for (let index = members.length - 1; index >= 0; index -= 1) {
      const member = members[index] as MemberSpan;
      if (keyIs(this.bytes, member, name)) return member;
    }
    return undefined;
  }
}

/** `,"<name>":null}` per member name, built on first use (a dialect names one or two). */
const nullTails = new Map<string, Buffer>();

/** `,"<name>":null}` ending `bytes` (nothing after the brace): the range without the brace; else undefined. */
function compactNullTailCut(bytes: Buffer, name: string): readonly [number, number] | undefined {
  let tail = nullTails.get(name);
  if (tail === undefined) {
    tail = Buffer.from(`,${JSON.stringify(name)}:null}`, 'utf8');
    nullTails.set(name, tail);
  }
  const from = bytes.length - tail.length;
  return from > 0 && tail.compare(bytes, from) === 0 ? [from, bytes.length - 1] : undefined;
}

/** No body, empty data and `[DONE]`: no members, and nothing to encode or scan. */
export const NO_MEMBERS = new LayoutMembers(Buffer.alloc(0));

/** The members of an event's `data`; `bytes` are its UTF-8 when the caller has them (else encoded here). */
export function eventMembers(data: string, bytes?: Buffer): LayoutMembers {
  return data.length === 0 || data === '[DONE]' ? NO_MEMBERS : new LayoutMembers(bytes ?? Buffer.from(data, 'utf8'));
}

/**
 * A whole response body as the documents a dialect reads: one object (found by layout, its
 * members parsed on demand: an embeddings answer's vectors are scanned, never decoded), or the
 * items of an array of documents, or one other JSON value. Undefined when the body is not JSON.
 */
export function documentsOf(bytes: Buffer): JsonMembers[] | undefined {
  const members = new LayoutMembers(bytes);
  if (members.isObject) return [members];
  // Not one object: an array of responses (Gemini without `alt=sse`), another JSON value, or not JSON.
  const json = parseJson(bytes.toString('utf8'));
  if (json === undefined) return undefined;
  return Array.isArray(json) ? json.map(membersOf) : [membersOf(json)];
}
