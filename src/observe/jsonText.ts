/**
 * Text-level JSON edits that keep every other byte as the provider wrote it.
 * Re-serialising with JSON.stringify would change number formatting and escapes,
 * and the client must see exactly what the provider sent.
 */

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
