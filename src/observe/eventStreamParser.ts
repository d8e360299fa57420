import { crc32 } from 'node:zlib';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { EventStreamCodec } from '@smithy/core/event-streams';
import type { StreamEvent } from '../providers/types';

/**
 * Incremental reader of the AWS event-stream framing (`application/vnd.amazon.eventstream`,
 * Bedrock's ConverseStream and InvokeModelWithResponseStream). Pure: feed it chunks as they
 * arrive, get the complete messages back. Frames are cut out by their length prelude (a frame
 * can straddle chunks, several can share one), once the prelude's CRC says the length is one
 * (node:zlib's crc32); each frame is then decoded and checked, both CRCs and headers, by AWS's
 * own codec.
 *
 * A message becomes a StreamEvent: `event` is its `:event-type` (or, for an exception or error
 * message, `exception:<:exception-type>` / `error:<:error-code>`), `data` its payload as text.
 * The bytes the client gets are never touched here. A frame that fails its CRC, a length that
 * cannot be a frame, or one larger than `maxMessageBytes` ends the reading of the stream (the
 * framing has no marker to resynchronise on); `corrupt` says so once, for the telemetry error.
 */
export class EventStreamParser {
  private readonly codec = new EventStreamCodec(toUtf8, fromUtf8);
  private pending: Buffer[] = [];
  private pendingLength = 0;
  /** Set when the stream could not be read any further. */
  corrupt: 'bad_frame' | 'oversized' | 'truncated' | undefined;

  constructor(private readonly maxMessageBytes = 4 * 1024 * 1024) {}

  push(chunk: Buffer): StreamEvent[] {
    if (this.corrupt !== undefined || chunk.length === 0) return [];
    this.pending.push(chunk);
    this.pendingLength += chunk.length;
    const events: StreamEvent[] = [];
    while (this.pendingLength >= PRELUDE_BYTES) {
      const prelude = this.peek(PRELUDE_BYTES);
      // The prelude's own CRC first: a length read from garbage is not waited for.
      if (crc32(prelude.subarray(0, 8)) !== prelude.readUInt32BE(8)) return this.stop('bad_frame', events);
      const total = prelude.readUInt32BE(0);
      if (total < MIN_MESSAGE_BYTES) return this.stop('bad_frame', events);
      if (total > this.maxMessageBytes) return this.stop('oversized', events);
      if (this.pendingLength < total) break;
      const frame = this.take(total);
      let decoded: ReturnType<EventStreamCodec['decode']>;
      try {
        decoded = this.codec.decode(frame);
      } catch {
        return this.stop('bad_frame', events);
      }
      events.push(toEvent(decoded));
    }
    return events;
  }

  /** End of the body: bytes left over are a frame cut short. */
  end(): StreamEvent[] {
    if (this.corrupt === undefined && this.pendingLength > 0) this.stop('truncated', []);
    return [];
  }

  private stop(reason: NonNullable<EventStreamParser['corrupt']>, events: StreamEvent[]): StreamEvent[] {
    this.corrupt = reason;
    this.pending = [];
    this.pendingLength = 0;
    return events;
  }

  /** The first `bytes` pending bytes (joined only when they straddle chunks). */
  private peek(bytes: number): Buffer {
    const first = this.pending[0] as Buffer;
    if (first.length >= bytes) return first;
    return Buffer.concat(this.pending).subarray(0, bytes);
  }

  /** Removes and returns the first `bytes` pending bytes, as one buffer. */
  private take(bytes: number): Buffer {
    const first = this.pending[0] as Buffer;
    if (first.length >= bytes) {
      const frame = first.subarray(0, bytes);
      if (first.length === bytes) this.pending.shift();
      else this.pending[0] = first.subarray(bytes);
      this.pendingLength -= bytes;
      return frame;
    }
    const all = Buffer.concat(this.pending);
    const rest = all.subarray(bytes);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingLength = rest.length;
    return all.subarray(0, bytes);
  }
}

/** Total length (4), headers length (4), prelude CRC (4). */
const PRELUDE_BYTES = 12;
/** Prelude plus the message CRC (4): a message without headers or payload. */
const MIN_MESSAGE_BYTES = 16;

function header(message: ReturnType<EventStreamCodec['decode']>, name: string): string | undefined {
  const value = message.headers[name];
  return value?.type === 'string' ? value.value : undefined;
}

function toEvent(message: ReturnType<EventStreamCodec['decode']>): StreamEvent {
  const type = header(message, ':message-type') ?? 'event';
  const name =
    type === 'event'
      ? header(message, ':event-type')
      : type === 'exception'
        ? `exception:${header(message, ':exception-type') ?? ''}`
        : `error:${header(message, ':error-code') ?? ''}`;
  return { ...(name === undefined ? {} : { event: name }), data: Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength).toString('utf8') };
}
