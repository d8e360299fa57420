/**
 * Just enough SSE framing for the streaming client to timestamp each event as it completes, and
 * the fake provider's send-time stamp read back out of an event. Pure.
 */

/** Field the fake provider adds to every chunk: performance.now() when it wrote the event. */
export const SENT_FIELD = 'x_bench_sent_ms';
const SENT_PATTERN = new RegExp(`"${SENT_FIELD}":(-?[0-9.]+(?:e[-+]?[0-9]+)?)`);

/** Splits a text stream into complete SSE events (without their blank-line terminator). */
export class SseEventSplitter {
  private pending = '';

  push(text: string): string[] {
    this.pending += text;
    const events: string[] = [];
    for (;;) {
      const match = /\r?\n\r?\n/.exec(this.pending);
      if (!match) break;
      events.push(this.pending.slice(0, match.index));
      this.pending = this.pending.slice(match.index + match[0].length);
    }
    return events;
  }

  /** Text after the last complete event (a well-formed stream ends with none). */
  rest(): string {
    return this.pending;
  }
}

/** The fake provider's send time in an event, if it carries one. */
export function sentAtMs(event: string): number | undefined {
  const match = SENT_PATTERN.exec(event);
  return match ? Number(match[1]) : undefined;
}

/** The event with its send time blanked, to compare streams received along different paths. */
export function withoutSentTime(event: string): string {
  return event.replace(SENT_PATTERN, `"${SENT_FIELD}":0`);
}
