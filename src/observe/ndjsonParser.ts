import { StringDecoder } from 'node:string_decoder';
import type { StreamEvent } from '../providers/types';

const LF = 0x0a;

/**
 * Incremental newline-delimited JSON framing (Ollama, Cohere v1 streams).
 * Yields each non-empty line as an event; JSON parsing is left to the caller.
 * An over-long line is dropped (and counted once) rather than held in memory, however it is
 * chunked; past the limit the rest of it is neither decoded nor held, only searched for its
 * newline. Work is linear in the input however it is chunked.
 */
export class NdjsonParser {
  private readonly decoder = new StringDecoder('utf8');
  /** The line in progress, in pieces (joined only once its newline arrives). */
  private parts: string[] = [];
  private pendingLength = 0;
  private discarding = false;
  oversizedLines = 0;

  constructor(private readonly maxLineChars = 4 * 1024 * 1024) {}

  push(chunk: Buffer): StreamEvent[] {
    if (this.discarding) {
      // A newline byte is never part of a multi-byte UTF-8 character, so the dropped line's end
      // is found in the bytes; decoding them only to throw the text away is what made a long
      // hostile line cost memory over and over.
      const newline = chunk.indexOf(LF);
      if (newline === -1) return [];
      this.discarding = false;
      // What the decoder holds is the start of a character of the dropped line.
      this.decoder.end();
      return this.consume(this.decoder.write(chunk.subarray(newline + 1)), false);
    }
    return this.consume(this.decoder.write(chunk), false);
  }

  end(): StreamEvent[] {
    const rest = this.decoder.end();
    if (this.discarding) {
      this.discarding = false;
      return [];
    }
    return this.consume(rest, true);
  }

  private consume(text: string, atEnd: boolean): StreamEvent[] {
    const events: StreamEvent[] = [];
    if (!atEnd && !text.includes('\n')) {
      if (this.pendingLength + text.length > this.maxLineChars) this.drop();
      else this.append(text);
    } else {
      const buffer = this.parts.join('') + text;
      this.parts = [];
      this.pendingLength = 0;
      let start = 0;
      for (let newline = buffer.indexOf('\n'); newline !== -1; newline = buffer.indexOf('\n', start)) {
        this.deliver(events, buffer.slice(start, newline));
        start = newline + 1;
      }
      const rest = buffer.slice(start);
      if (atEnd) {
        if (rest.length > 0) this.deliver(events, rest);
      } else if (rest.length > this.maxLineChars) this.drop();
      else this.append(rest);
    }
    return events;
  }

  /** The line in progress is past the limit: count it, let go of what is held, skip to its newline. */
  private drop(): void {
    this.oversizedLines += 1;
    this.discarding = true;
    this.parts = [];
    this.pendingLength = 0;
  }

  private append(text: string): void {
    if (text.length === 0) return;
    this.parts.push(text);
    this.pendingLength += text.length;
  }

  private deliver(events: StreamEvent[], line: string): void {
    if (line.length > this.maxLineChars) {
      this.oversizedLines += 1;
      return;
    }
    const trimmed = line.trim();
    if (trimmed.length > 0) events.push({ data: trimmed });
  }
}
