import { StringDecoder } from 'node:string_decoder';
import type { StreamEvent } from '../providers/types';

/**
 * A complete SSE event plus the exact text it occupied on the wire (for re-emitting it).
 * Blocks that dispatch no event (comments such as keep-alives, blocks without `data`, text of a
 * discarded oversized event) come back with `data: ''` and no name, so their bytes still reach
 * the client: the `raw` of all events, in order, is exactly the text received.
 */
export interface FramedEvent extends StreamEvent {
  raw: string;
}

/**
 * Incremental Server-Sent Events parser (WHATWG "event stream" framing).
 * Pure: feed it chunks, get complete events back. Partial events wait for their terminator.
 * A single line or event larger than `maxEventChars` is discarded (and counted once) so a hostile
 * stream cannot make the parser hold unbounded memory; its text is still passed on in `raw`.
 * Work is linear in the input however it is chunked.
 */
export class SseParser {
  private readonly decoder = new StringDecoder('utf8');
  /** Text received but not yet part of a complete event, in pieces (joined only when needed). */
  private parts: string[] = [];
  private pendingLength = 0;
  /** The last few pending characters: an event terminator can straddle two chunks. */
  private tail = '';
  private discarding = false;
  oversizedEvents = 0;

  constructor(private readonly maxEventChars = 4 * 1024 * 1024) {}

  push(chunk: Buffer): FramedEvent[] {
    return this.consume(this.decoder.write(chunk), false);
  }

  /** End of stream: an unterminated last event is still delivered (providers sometimes omit the blank line). */
  end(): FramedEvent[] {
    return this.consume(this.decoder.end(), true);
  }

  /** Text received but not yet part of a complete event. */
  get remainder(): string {
    return this.pending();
  }

  private consume(text: string, atEnd: boolean): FramedEvent[] {
    const events: FramedEvent[] = [];
    if (!atEnd && findEventBoundary(this.tail + text, false) === undefined) {
      // Mid-event (the usual case for large events): no terminator yet, do not rescan the pending text.
      this.append(text);
    } else {
      let buffer = this.pending() + text;
      for (;;) {
        const boundary = findEventBoundary(buffer, atEnd);
        if (boundary === undefined) break;
        this.deliver(events, buffer.slice(0, boundary));
        buffer = buffer.slice(boundary);
      }
      if (atEnd && buffer.length > 0) this.deliver(events, buffer);
      this.parts = [];
      this.pendingLength = 0;
      this.tail = '';
      if (!atEnd) this.append(buffer);
    }
    if (this.pendingLength > this.maxEventChars) this.discardPending(events);
    return events;
  }

  private append(text: string): void {
    if (text.length === 0) return;
    this.parts.push(text);
    this.pendingLength += text.length;
    this.tail = (this.tail + text).slice(-3);
  }

  private pending(): string {
    if (this.parts.length > 1) this.parts = [this.parts.join('')];
    return this.parts[0] ?? '';
  }

  /** The event in progress is too large: count it once, pass its text on, keep only a possible partial terminator. */
  private discardPending(events: FramedEvent[]): void {
    if (!this.discarding) this.oversizedEvents += 1;
    this.discarding = true;
    const text = this.pending();
    let cut = text.length;
    while (cut > 0 && (text[cut - 1] === '\r' || text[cut - 1] === '\n')) cut -= 1;
    if (cut > 0) events.push({ data: '', raw: text.slice(0, cut) });
    this.parts = [];
    this.pendingLength = 0;
    this.tail = '';
    this.append(text.slice(cut));
  }

  private deliver(events: FramedEvent[], raw: string): void {
    if (this.discarding) {
      this.discarding = false;
      events.push({ data: '', raw });
      return;
    }
    if (raw.length > this.maxEventChars) {
      this.oversizedEvents += 1;
      events.push({ data: '', raw });
      return;
    }
    const event = parseEventBlock(raw);
    events.push(event ? { ...event, raw } : { data: '', raw });
  }
}

/**
 * Two consecutive line terminators (CRLF, CR or LF) end an event. A CR at the very end of the
 * text may be the first half of a CRLF split across chunks, so it only counts at end of stream.
 */
const EVENT_END = /(?:\r\n|\r(?!\n)|\n)(?:\r\n|\r(?!\n)|\n)/;

/** Index just past the blank line that ends the first event, if the buffer holds one. */
function findEventBoundary(buffer: string, atEnd: boolean): number | undefined {
  const match = EVENT_END.exec(buffer);
  if (!match) return undefined;
  const end = match.index + match[0].length;
  // A CR ending the text may be half of a CRLF: wait for the next chunk (no later match can exist).
  if (!atEnd && end === buffer.length && match[0].endsWith('\r')) return undefined;
  return end;
}

/** Parse one event block; comments-only blocks and blocks without data yield undefined. */
export function parseEventBlock(block: string): StreamEvent | undefined {
  let eventName: string | undefined;
  let data: string | undefined;
  for (const line of block.split(/\r\n|\r|\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data = data === undefined ? value : `${data}\n${value}`;
    else if (field === 'event') eventName = value;
  }
  if (data === undefined) return undefined;
  return eventName === undefined ? { data } : { event: eventName, data };
}
