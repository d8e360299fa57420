/**
 * Text-level JSON edits that keep every other byte as the provider (or the client) wrote it.
 * Re-serialising with JSON.stringify would change number formatting and escapes (and lose the
 * precision of integers past 2^53), and each side must see exactly what the other sent.
 */

/** JSON's insignificant whitespace (RFC 8259 §2): space, tab, LF, CR. */
function isJsonSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

/**
 * `body` (a JSON object, as bytes) with the top-level `members` set: any existing member of the
 * same name is removed (every occurrence, since the last duplicate is the one parsers keep) and
 * the new ones are inserted first; every other byte is kept. `hasMember` says which names the
 * object already holds (the caller has parsed it), so the usual case, a name that is absent, is
 * a single splice of the bytes with no text decoding. Undefined when `body` is not an object.
 */
export function setTopLevelMembers(body: Buffer, members: Readonly<Record<string, unknown>>, hasMember: (name: string) => boolean): Buffer | undefined {
  const names = Object.keys(members);
  const inserted = names.map((name) => `${JSON.stringify(name)}:${JSON.stringify(members[name])}`).join(',');
  if (!names.some(hasMember)) return insertFirst(body, inserted);
  let text = body.toString('utf8');
  for (const name of names) {
    for (let edited = removeTopLevelMember(text, name); edited !== undefined; edited = removeTopLevelMember(text, name)) text = edited;
  }
  return insertFirst(Buffer.from(text, 'utf8'), inserted);
}

/** Insert member text right after the object's opening brace, with a comma unless the object is empty. */
function insertFirst(body: Buffer, memberText: string): Buffer | undefined {
  let open = 0;
  while (isJsonSpace(body[open])) open += 1;
  if (body[open] !== 0x7b) return undefined;
  let next = open + 1;
  while (isJsonSpace(body[next])) next += 1;
  if (next >= body.length) return undefined;
  const separator = body[next] === 0x7d ? '' : ',';
  return Buffer.concat([body.subarray(0, open + 1), Buffer.from(memberText + separator, 'utf8'), body.subarray(open + 1)]);
}

/**
 * Remove one member from the top-level object of `text`, with its separating comma.
 * Returns undefined when the text is not an object or has no such member.
 */
export function removeTopLevelMember(text: string, key: string): string | undefined {
  const start = text.indexOf('{');
  if (start === -1 || text.slice(0, start).trim() !== '') return undefined;
  const quotedKey = JSON.stringify(key);
  let depth = 0;
  let i = start;
  // Position right after the previous top-level separator ('{' or ','), where a member starts.
  let memberStart = -1;
  let previousSeparator = -1;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') {
      const end = skipString(text, i);
      if (end === -1) return undefined;
      if (depth === 1 && memberStart !== -1 && text.slice(i, end) === quotedKey && nextNonSpace(text, end) === ':') {
        const valueEnd = findValueEnd(text, nextNonSpaceIndex(text, end) + 1);
        if (valueEnd === -1) return undefined;
        return spliceMember(text, previousSeparator, valueEnd);
      }
      memberStart = -1;
      i = end;
      continue;
    }
    if (ch === '{' || ch === '[') {
      depth += 1;
      if (depth === 1) {
        previousSeparator = i;
        memberStart = i + 1;
      }
    } else if (ch === '}' || ch === ']') {
      depth -= 1;
      if (depth === 0) return undefined;
    } else if (ch === ',' && depth === 1) {
      previousSeparator = i;
      memberStart = i + 1;
    }
    i += 1;
  }
  return undefined;
}

/** Cut the member that starts after `separator` and ends at `valueEnd`, keeping commas balanced. */
function spliceMember(text: string, separator: number, valueEnd: number): string {
  if (text[separator] === ',') {
    // `..., "key": value` -> drop the comma before it.
    return text.slice(0, separator) + text.slice(valueEnd);
  }
  // First member: `{ "key": value, next...` -> drop the comma after it instead.
  const after = nextNonSpaceIndex(text, valueEnd);
  if (text[after] === ',') return text.slice(0, separator + 1) + text.slice(after + 1);
  return text.slice(0, separator + 1) + text.slice(valueEnd);
}

/** Index just past the closing quote of the string starting at `quote`, or -1. */
function skipString(text: string, quote: number): number {
  let i = quote + 1;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '\\') i += 2;
    else if (ch === '"') return i + 1;
    else i += 1;
  }
  return -1;
}

function nextNonSpaceIndex(text: string, from: number): number {
  let i = from;
  while (i < text.length && /\s/.test(text[i] ?? '')) i += 1;
  return i;
}

function nextNonSpace(text: string, from: number): string | undefined {
  return text[nextNonSpaceIndex(text, from)];
}

/** Index just past a JSON value starting at (or after whitespace from) `from`, or -1. */
function findValueEnd(text: string, from: number): number {
  let i = nextNonSpaceIndex(text, from);
  let depth = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') {
      i = skipString(text, i);
      if (i === -1) return -1;
      if (depth === 0) return i;
      continue;
    }
    if (ch === '{' || ch === '[') depth += 1;
    else if (ch === '}' || ch === ']') {
      if (depth === 0) return i;
      depth -= 1;
      if (depth === 0) return i + 1;
    } else if (ch === ',' && depth === 0) return i;
    i += 1;
  }
  return -1;
}
