/**
 * Where the top-level members of a JSON object sit in its UTF-8 bytes, found without parsing
 * their values: strings are jumped over with Buffer#indexOf, nested values only have their
 * brackets counted. A 200 KiB chat request is mostly message text inside strings, so reading its
 * model and splicing in stream_options this way is ~4x faster than toString, JSON.parse and a
 * splice. Bytes, not a string: decoding alone cost more than the whole scan, and every byte JSON's
 * structure uses is ASCII (no byte of a multi-byte UTF-8 sequence is), so no decoding is needed.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

export interface MemberSpan {
  /** The key's opening quote, and just past its closing one. Decoded only on demand (keyIs, memberName). */
  keyStart: number;
  keyEnd: number;
  /** The key has a backslash escape, so its bytes are not its name. */
  escaped: boolean;
  /** Index of the `{` or `,` just before the member. */
  separator: number;
  /** First character of the value. */
  valueStart: number;
  /** Just past the value's last character. */
  end: number;
}

export interface ObjectLayout {
  /** Index of the opening and the closing brace. */
  open: number;
  close: number;
  /** In the order written; duplicate keys each have their own span. Indices are byte offsets. */
  members: MemberSpan[];
}

/**
 * The layout of `bytes` when it is one JSON object with only whitespace around it. Undefined
 * otherwise: another kind of value, an unterminated string or bracket, a member without a key or
 * colon, a missing comma. Inside nested values the grammar is not checked beyond that (`[1,,2]`
 * counts as a value): the bytes are the client's or the provider's, and theirs to get right.
 */
export function objectLayout(bytes: Buffer): ObjectLayout | undefined {
  const open = skipSpace(bytes, 0);
  if (bytes[open] !== OPEN_BRACE) return undefined;
  const members: MemberSpan[] = [];
  let separator = open;
  let at = skipSpace(bytes, open + 1);
  if (bytes[at] === CLOSE_BRACE) return closed(bytes, open, at, members);
  for (;;) {
    if (bytes[at] !== QUOTE) return undefined;
    const keyEnd = stringEnd(bytes, at);
    if (keyEnd === -1) return undefined;
    const colon = skipSpace(bytes, keyEnd);
    if (bytes[colon] !== COLON) return undefined;
    const valueStart = skipSpace(bytes, colon + 1);
    const end = valueEnd(bytes, valueStart);
    if (end === -1) return undefined;
    const escaped = hasBackslash(bytes, at + 1, keyEnd - 1);
    if (escaped && keyName(bytes, at, keyEnd) === undefined) return undefined;
    members.push({ keyStart: at, keyEnd, escaped, separator, valueStart, end });
    const next = skipSpace(bytes, end);
    const code = bytes[next];
    if (code === CLOSE_BRACE) return closed(bytes, open, next, members);
    if (code !== COMMA) return undefined;
    separator = next;
    at = skipSpace(bytes, next + 1);
  }
}

function closed(bytes: Buffer, open: number, close: number, members: MemberSpan[]): ObjectLayout | undefined {
  return skipSpace(bytes, close + 1) === bytes.length ? { open, close, members } : undefined;
}

/** JSON's insignificant whitespace (RFC 8259 §2): space, tab, LF, CR. */
function skipSpace(bytes: Buffer, from: number): number {
  let at = from;
  for (;;) {
    const code = bytes[at];
    if (code !== 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) return at;
    at += 1;
  }
}

/** Index just past the closing quote of the string opening at `quote`, or -1. */
function stringEnd(bytes: Buffer, quote: number): number {
  let from = quote + 1;
  for (;;) {
    const close = bytes.indexOf(QUOTE, from);
    if (close === -1) return -1;
    // Escaped when an odd run of backslashes comes before it; each run is counted once.
    let backslashes = 0;
    while (bytes[close - 1 - backslashes] === BACKSLASH) backslashes += 1;
    if (backslashes % 2 === 0) return close + 1;
    from = close + 1;
  }
}

/** The member's key, decoded and unescaped. */
export function memberName(bytes: Buffer, member: MemberSpan): string {
  return (member.escaped ? keyName(bytes, member.keyStart, member.keyEnd) : undefined) ?? bytes.toString('utf8', member.keyStart + 1, member.keyEnd - 1);
}

/**
 * Whether the member's key is `name`, without decoding it when both are plain ASCII: decoding
 * every key of every stream chunk cost more than the rest of the scan.
 */
export function keyIs(bytes: Buffer, member: MemberSpan, name: string): boolean {
  if (member.escaped) return memberName(bytes, member) === name;
  const start = member.keyStart + 1;
  const length = member.keyEnd - 1 - start;
  for (let index = 0; index < name.length; index += 1) {
    const code = name.charCodeAt(index);
    // Up to its first non-ASCII character, a name's UTF-8 bytes are its character codes.
    if (code >= 0x80) return memberName(bytes, member) === name;
    if (index >= length || bytes[start + index] !== code) return false;
  }
  return length === name.length;
}

/** The member's value is an array with at least one element, told from its first bytes. */
export function isNonEmptyArray(bytes: Buffer, member: MemberSpan): boolean {
  return bytes[member.valueStart] === OPEN_BRACKET && bytes[skipSpace(bytes, member.valueStart + 1)] !== CLOSE_BRACKET;
}

function hasBackslash(bytes: Buffer, from: number, to: number): boolean {
  for (let at = from; at < to; at += 1) if (bytes[at] === BACKSLASH) return true;
  return false;
}

/** An escaped key, decoded; undefined when an escape is invalid (the object is then invalid). */
function keyName(bytes: Buffer, quote: number, end: number): string | undefined {
  try {
    return JSON.parse(bytes.toString('utf8', quote, end)) as string;
  } catch {
    return undefined;
  }
}

/** Index just past the value starting at `start`, or -1. */
function valueEnd(bytes: Buffer, start: number): number {
  const code = bytes[start];
  if (code === QUOTE) return stringEnd(bytes, start);
  if (code === OPEN_BRACE || code === OPEN_BRACKET) return containerEnd(bytes, start);
  // A number or a literal: up to the next delimiter; it must not be empty.
  let at = start;
  while (isScalarCharacter(bytes[at])) at += 1;
  return at === start ? -1 : at;
}

/** Digits, letters (true, false, null, exponents), sign and decimal point. */
function isScalarCharacter(code: number | undefined): boolean {
  if (code === undefined) return false;
  return (code >= 0x30 && code <= 0x39) || (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || code === 0x2b || code === 0x2d || code === 0x2e;
}

function containerEnd(bytes: Buffer, open: number): number {
  let depth = 0;
  let at = open;
  while (at < bytes.length) {
    const code = bytes[at];
    if (code === QUOTE) {
      at = stringEnd(bytes, at);
      if (at === -1) return -1;
      continue;
    }
    if (code === OPEN_BRACE || code === OPEN_BRACKET) depth += 1;
    else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      depth -= 1;
      if (depth === 0) return at + 1;
    }
    at += 1;
  }
  return -1;
}
