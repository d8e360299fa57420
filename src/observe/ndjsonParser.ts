import { StringDecoder } from 'node:string_decoder';
import type { StreamEvent } from '../providers/types';

/**
 * Incremental newline-delimited JSON framing (Ollama, Cohere v1 streams).
 * Yields each non-empty line as an event; JSON parsing is left to the caller.
 * An over-long line is dropped (and counted) rather than held in memory.
 */
export class NdjsonParser {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
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
    let buffer = this.pending + text;
    let newline = buffer.indexOf('\n');
    while (newline !== -1) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (this.discarding) this.discarding = false;
      else pushLine(events, line);
      newline = buffer.indexOf('\n');
    }
    if (buffer.length > this.maxLineChars) {
      this.oversizedLines += 1;
      this.discarding = true;
      buffer = '';
    }
    if (atEnd) {
      if (!this.discarding) pushLine(events, buffer);
      buffer = '';
    }
    this.pending = buffer;
    return events;
  }
}

function pushLine(events: StreamEvent[], line: string): void {
  const trimmed = line.trim();
  if (trimmed.length > 0) events.push({ data: trimmed });
}
