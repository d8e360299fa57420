import type { StreamEvent } from '../providers/types';

/**
 * A complete SSE event plus the exact bytes it occupied on the wire (for re-emitting it).
 * Blocks that dispatch no event (comments such as keep-alives, blocks without `data`, bytes of a
 * discarded oversized event) come back with `data: ''` and no name, so their bytes still reach
 * the client: the `raw` of all events, in order, is exactly the bytes received.
 */
export interface FramedEvent extends StreamEvent {
  raw: Buffer;
  /**
   * Where the data sits in `raw` when it is one `data:` line (as every provider sends JSON):
   * a rewrite can then cut bytes out of it without decoding or re-encoding the rest.
   */
  dataStart?: number;
  dataEnd?: number;
}

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;
/** The empty chunk: nothing held back, nothing to send. Shared, and never written to (it has no bytes). */
export const NO_BYTES = Buffer.alloc(0);

/**
 * Incremental Server-Sent Events parser (WHATWG "event stream" framing), on bytes.
 * Pure: feed it chunks, get complete events back. Partial events wait for their terminator.
 * Every byte JSON or SSE framing uses is ASCII and none of a multi-byte UTF-8 sequence is, so
 * events are found without decoding; only an event's data and name are decoded, once. The raw
 * bytes are the provider's own, even where they are not valid UTF-8.
 * A single event larger than `maxEventBytes` is discarded (and counted once) so a hostile stream
 * cannot make the parser hold unbounded memory; its bytes are still passed on in `raw`. Past the
 * limit nothing of the event is held or copied any more: its bytes go out as views of the chunks
 * they came in, until the blank line that ends it.
 * Work is linear in the input however it is chunked.
 */
export class SseParser {
  /**
   * Bytes received but not yet part of a complete event: the first `pendingLength` bytes of
   * `store`, which grows by doubling. The observer reads `remainder` before every chunk it
   * rewrites, so it must be a view, not a join of the pieces (quadratic for a large event in
   * small chunks); bytes once pending are never written over, so an earlier view stays true.
   */
  private store: Buffer = NO_BYTES;
  private pendingLength = 0;
  private discarding = false;
  oversizedEvents = 0;

  constructor(private readonly maxEventBytes = 4 * 1024 * 1024) {}

  push(chunk: Buffer): FramedEvent[] {
    return this.consume(chunk, false);
  }

  /** End of stream: an unterminated last event is still delivered (providers sometimes omit the blank line). */
  end(): FramedEvent[] {
    return this.consume(NO_BYTES, true);
  }

  /** Bytes received but not yet part of a complete event. */
  get remainder(): Buffer {
    return this.pending();
  }

  private consume(chunk: Buffer, atEnd: boolean): FramedEvent[] {
    const events: FramedEvent[] = [];
    // With nothing pending (the usual case: an event per chunk) the chunk is scanned once.
    const alone = this.pendingLength === 0;
    // An event terminator can straddle two chunks: the last few pending bytes are scanned with the chunk.
    const probeEnds = atEnd ? undefined : eventEnds(alone ? chunk : Buffer.concat([this.pending().subarray(-3), chunk]), false);
    if (probeEnds?.length === 0) {
      // Mid-event (the usual case for large events): no terminator yet, do not rescan the pending bytes.
      if (this.discarding || this.pendingLength + chunk.length > this.maxEventBytes) this.skip(chunk, events);
      else this.append(chunk);
    } else {
      const buffer = alone ? chunk : Buffer.concat([this.pending(), chunk]);
      let from = 0;
      for (const end of alone && probeEnds ? probeEnds : eventEnds(buffer, atEnd)) {
        this.deliver(events, buffer.subarray(from, end));
        from = end;
      }
      if (atEnd && from < buffer.length) this.deliver(events, buffer.subarray(from));
      this.clearPending();
      const rest = buffer.subarray(from);
      if (atEnd) return events;
      if (this.discarding || rest.length > this.maxEventBytes) this.skip(rest, events);
      else this.append(rest);
    }
    return events;
  }

  private append(bytes: Buffer): void {
    if (bytes.length === 0) return;
    const needed = this.pendingLength + bytes.length;
    if (needed > this.store.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, 2 * this.store.length, 1024));
      this.store.copy(grown, 0, 0, this.pendingLength);
      this.store = grown;
    }
    bytes.copy(this.store, this.pendingLength);
    this.pendingLength = needed;
  }

  private pending(): Buffer {
    return this.store.subarray(0, this.pendingLength);
  }

  /** A new store for what comes next, so views of the old one handed out stay as they were. */
  private clearPending(): void {
    this.store = NO_BYTES;
    this.pendingLength = 0;
  }

  /**
   * The event in progress, continued by `bytes` (which hold no end of it), is past the limit:
   * count it once, pass the pending bytes and `bytes` on as they are, and keep only the line
   * terminators they end with, which may begin the blank line that ends the event (at most
   * three bytes: two terminators in a row would have ended it). Dropping the held bytes once and
   * holding nothing after is what keeps a long hostile event from regrowing the store over and
   * over (one 1 GiB event used to add ~75 MiB of RSS).
   */
  private skip(bytes: Buffer, events: FramedEvent[]): void {
    if (!this.discarding) this.oversizedEvents += 1;
    this.discarding = true;
    const inBytes = trailingTerminators(bytes);
    const pending = this.pending();
    // Only when `bytes` are all terminators can the kept tail reach back into the pending bytes.
    const passedPending = inBytes === bytes.length ? pending.length - trailingTerminators(pending) : pending.length;
    if (passedPending > 0) events.push({ data: '', raw: pending.subarray(0, passedPending) });
    if (inBytes < bytes.length) events.push({ data: '', raw: bytes.subarray(0, bytes.length - inBytes) });
    this.clearPending();
    this.append(pending.subarray(passedPending));
    this.append(bytes.subarray(bytes.length - inBytes));
  }

  private deliver(events: FramedEvent[], raw: Buffer): void {
    if (this.discarding) {
      this.discarding = false;
      events.push({ data: '', raw });
      return;
    }
    if (raw.length > this.maxEventBytes) {
      this.oversizedEvents += 1;
      events.push({ data: '', raw });
      return;
    }
    events.push(parseEventBlock(raw) ?? { data: '', raw });
  }
}

/** How many CR and LF bytes `bytes` end with. */
function trailingTerminators(bytes: Buffer): number {
  let count = 0;
  while (count < bytes.length && (bytes[bytes.length - 1 - count] === CR || bytes[bytes.length - 1 - count] === LF)) count += 1;
  return count;
}

/**
 * Indices just past each blank line that ends an event: two consecutive line terminators (CRLF,
 * CR or LF). A CR that ends the bytes may be the first half of a CRLF split across chunks, so it
 * only counts at end of stream. One pass; each byte is looked at a bounded number of times.
 */
function eventEnds(bytes: Buffer, atEnd: boolean): number[] {
  const ends: number[] = [];
  const lines = new LineEnds(bytes);
  let previousEnd = -1;
  for (let line = lines.next(); line !== undefined; line = lines.next()) {
    if (line.start === previousEnd) {
      // A CR ending the bytes may be half of a CRLF: wait for the next chunk (no later end can exist).
      if (!atEnd && line.end === bytes.length && bytes[line.end - 1] === CR) break;
      ends.push(line.end);
      previousEnd = -1;
    } else {
      previousEnd = line.end;
    }
  }
  return ends;
}

/** The line terminators of `bytes` in order, as [start, end) byte ranges. */
class LineEnds {
  private at = 0;
  private nextLf: number;
  private nextCr: number;

  constructor(private readonly bytes: Buffer) {
    this.nextLf = bytes.indexOf(LF);
    this.nextCr = bytes.indexOf(CR);
  }

  next(): { start: number; end: number } | undefined {
    // Each search runs again only once the terminator it found is behind us.
    if (this.nextLf !== -1 && this.nextLf < this.at) this.nextLf = this.bytes.indexOf(LF, this.at);
    if (this.nextCr !== -1 && this.nextCr < this.at) this.nextCr = this.bytes.indexOf(CR, this.at);
    let start: number;
    if (this.nextCr === -1 || (this.nextLf !== -1 && this.nextLf < this.nextCr)) start = this.nextLf;
    else start = this.nextCr;
    if (start === -1) return undefined;
    const end = this.bytes[start] === CR && this.bytes[start + 1] === LF ? start + 2 : start + 1;
    this.at = end;
    return { start, end };
  }
}

/** Parse one event block; comments-only blocks and blocks without data yield undefined. */
export function parseEventBlock(raw: Buffer): FramedEvent | undefined {
  let eventName: string | undefined;
  let data: string | undefined;
  let dataLines = 0;
  let dataStart = 0;
  let dataEnd = 0;
  const lines = new LineEnds(raw);
  let lineStart = 0;
  for (;;) {
    const terminator = lines.next();
    const lineEnd = terminator?.start ?? raw.length;
    if (lineEnd > lineStart && raw[lineStart] !== COLON) {
      let nameEnd = lineStart;
      while (nameEnd < lineEnd && raw[nameEnd] !== COLON) nameEnd += 1;
      let valueStart = nameEnd === lineEnd ? lineEnd : nameEnd + 1;
      if (raw[valueStart] === SPACE && valueStart < lineEnd) valueStart += 1;
      if (isField(raw, lineStart, nameEnd, 'data')) {
        const value = raw.toString('utf8', valueStart, lineEnd);
        data = data === undefined ? value : `${data}\n${value}`;
        dataLines += 1;
        dataStart = valueStart;
        dataEnd = lineEnd;
      } else if (isField(raw, lineStart, nameEnd, 'event')) {
        eventName = raw.toString('utf8', valueStart, lineEnd);
      }
    }
    if (terminator === undefined) break;
    lineStart = terminator.end;
  }
  if (data === undefined) return undefined;
  const event: FramedEvent = eventName === undefined ? { data, raw } : { event: eventName, data, raw };
  if (dataLines === 1) {
    event.dataStart = dataStart;
    event.dataEnd = dataEnd;
  }
  return event;
}

function isField(raw: Buffer, start: number, end: number, name: string): boolean {
  if (end - start !== name.length) return false;
  for (let index = 0; index < name.length; index += 1) if (raw[start + index] !== name.charCodeAt(index)) return false;
  return true;
}
