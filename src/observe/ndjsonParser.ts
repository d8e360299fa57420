import { StringDecoder } from 'node:string_decoder';
import type { StreamEvent } from '../providers/types';

/**
 * Incremental newline-delimited JSON framing (Ollama, Cohere v1 streams).
 * Yields each non-empty line as an event; JSON parsing is left to the caller.
 * An over-long line is dropped (and counted once) rather than held in memory, however it is
 * chunked. Work is linear in the input however it is chunked.
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
    return this.consume(this.decoder.write(chunk), false);
  }

  end(): StreamEvent[] {
    return this.consume(this.decoder.end(), true);
  }

  private consume(text: string, atEnd: boolean): StreamEvent[] {
    const events: StreamEvent[] = [];
    if (!atEnd && !text.includes('\n')) {
      this.append(text);
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
      } else this.append(rest);
    }
    if (this.pendingLength > this.maxLineChars) {
      if (!this.discarding) this.oversizedLines += 1;
      this.discarding = true;
      this.parts = [];
      this.pendingLength = 0;
    }
    return events;
  }

  private append(text: string): void {
    if (text.length === 0) return;
    this.parts.push(text);
    this.pendingLength += text.length;
  }

  private deliver(events: StreamEvent[], line: string): void {
    if (this.discarding) {
      this.discarding = false;
      return;
    }
    if (line.length > this.maxLineChars) {
      this.oversizedLines += 1;
      return;
    }
    const trimmed = line.trim();
    if (trimmed.length > 0) events.push({ data: trimmed });
  }
}
