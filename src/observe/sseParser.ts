import { StringDecoder } from 'node:string_decoder';
import type { StreamEvent } from '../providers/types';

/** A complete SSE event plus the exact text it occupied on the wire (for re-emitting it). */
export interface FramedEvent extends StreamEvent {
  raw: string;
}

/**
 * Incremental Server-Sent Events parser (WHATWG "event stream" framing).
 * Pure: feed it chunks, get complete events back. Partial events wait for their terminator.
 * A single line or event larger than `maxEventChars` is discarded (and counted) so a hostile
 * stream cannot make the parser hold unbounded memory.
 */
export class SseParser {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
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
    return this.pending;
  }

  private consume(text: string, atEnd: boolean): FramedEvent[] {
    let buffer = this.pending + text;
    const events: FramedEvent[] = [];
    for (;;) {
      const boundary = findEventBoundary(buffer);
      if (boundary === undefined) break;
      const raw = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary);
      if (this.discarding) {
        this.discarding = false;
        continue;
      }
      const event = parseEventBlock(raw);
      if (event) events.push({ ...event, raw });
    }
    if (buffer.length > this.maxEventChars) {
      this.oversizedEvents += 1;
      this.discarding = true;
      buffer = '';
    }
    if (atEnd && buffer.length > 0 && !this.discarding) {
      const event = parseEventBlock(buffer);
      if (event) events.push({ ...event, raw: buffer });
      buffer = '';
    }
    this.pending = buffer;
    return events;
  }
}

/** Two consecutive line terminators (CRLF, CR or LF) end an event. */
const EVENT_END = /(?:\r\n|\r(?!\n)|\n)(?:\r\n|\r(?!\n)|\n)/;

/** Index just past the blank line that ends the first event, if the buffer holds one. */
function findEventBoundary(buffer: string): number | undefined {
  const match = EVENT_END.exec(buffer);
  return match ? match.index + match[0].length : undefined;
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
