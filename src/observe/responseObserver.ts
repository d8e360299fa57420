/**
 * Watches one response body on its way to the client. Bytes are forwarded as they arrive;
 * a side copy is parsed to learn model, usage, errors and chunk timing. Reading comes after
 * relaying: `relay()` does only what the client's bytes depend on, and `catchUp()`, called once
 * they are written, reads what was relayed, so the first chunk reaches the client without
 * waiting for its usage and model to be read. The only change ever
 * made to what the client receives is hiding usage data the sidecar itself asked for, and then
 * only at event granularity (a client cannot act on half an event anyway).
 *
 * Telemetry never breaks traffic: any parsing failure marks the observer broken, is reported
 * through `onTelemetryError`, and from then on bytes pass through untouched.
 *
 * A compressed body is decoded for telemetry only as far as it can be parsed: past the parse
 * limit (`maxBodyBytes` for a JSON body, the per-event limit for a stream) decoding stops, so a
 * small gzip bomb costs the CPU of the limit, not of its decoded size. The client's
 * bytes are the compressed ones, untouched, whatever is decoded.
 *
 * A JSON body kept whole until its end takes its bytes from the sidecar's shared body budget
 * when one is given (`holdBodyFrom`): past it the body is not kept, only relayed.
 */
import { performance } from 'node:perf_hooks';
import zlib from 'node:zlib';
import type { BodyLease } from '../proxy/bodyBudget';
import type { ProviderDialect, ResponseFacts, ResponseFraming, StreamEvent } from '../providers/types';
import { documentsOf, eventMembers, NO_MEMBERS, type LayoutMembers } from './jsonMembers';
import type { EventStreamParser } from './eventStreamParser';
import { NdjsonParser } from './ndjsonParser';
import { NO_BYTES, SseParser, type FramedEvent } from './sseParser';

export interface ObserverOptions {
  dialect: ProviderDialect;
  framing: ResponseFraming;
  /** Remove usage data that exists only because the sidecar asked for it. */
  hideInjectedUsage: boolean;
  /** `content-encoding` of the response; the side copy is decoded, the client's bytes are not. */
  contentEncoding?: string;
  /** Largest non-streamed body that is buffered for parsing. */
  maxBodyBytes: number;
  /** A streamed answer framed as one JSON document (Gemini without `alt=sse`): time its network chunks. */
  timeJsonChunks: boolean;
  /** The answer's headers, for dialects that read usage or errors there (Bedrock). */
  responseHeaders?: Readonly<Record<string, string | string[] | undefined>>;
  onTelemetryError(stage: string, error: unknown): void;
}

/** Stream gaps kept per call; beyond this the histogram sees a sample, memory stays bounded. */
const MAX_GAPS = 10_000;

type Decoder = zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress;

/** What was relayed and is still to be read, with the time it arrived (chunk timing is arrival time). */
type Unread =
  | { arrivedAt: number; chunk: Buffer }
  | { arrivedAt: number; event: FramedEvent; json: LayoutMembers }
  /** The body ended: what is still held (a whole JSON body, an unterminated last event) is read then. */
  | { arrivedAt: number; endOfBody: true };

export class ResponseObserver {
  readonly facts: ResponseFacts = { usage: {} };
  /** performance.now() when the first content chunk completed. */
  firstContentAt: number | undefined;
  readonly chunkGapsSeconds: number[] = [];
  /** A body framed as one JSON document was not JSON (garbage, an HTML page). */
  bodyUnreadable = false;

  private lastContentAt: number | undefined;
  private broken = false;
  private readonly sse: SseParser | undefined;
  private readonly ndjson: NdjsonParser | undefined;
  private readonly eventStream: EventStreamParser | undefined;
  private bodyParts: Buffer[] = [];
  private bodyBytes = 0;
  /** The body is not kept (past `maxBodyBytes` or the budget, or given up): later chunks are only relayed. */
  private bodyTooLarge = false;
  /** The budget share the kept body's bytes are counted against; none means the body is not budgeted. */
  private bodyLease: BodyLease | undefined;
  private readonly decoder: Decoder | undefined;
  /** Set while a compressed body is decoded off the hot path; undefined when observation is synchronous. */
  private readonly decoded: Promise<void> | undefined;
  private settleDecoded: () => void = () => undefined;
  /** Nothing more is written to the decoder: the body ended or was cut, or decoding stopped. */
  private decoderInputClosed = false;
  /** The side copy of a compressed body is read as far as it will be; `decoded` has resolved. */
  private decodingDone = false;
  private readonly rewriting: boolean;
  private unread: Unread[] = [];
  /** Once rewriting stops (telemetry failed), what the parser held back has gone out in front of the next bytes. */
  private heldBackReleased = false;
  /** Arrival time of what is being read now. */
  private arrivedAt = 0;

  constructor(private readonly options: ObserverOptions) {
    this.sse = options.framing === 'sse' ? new SseParser() : undefined;
    this.ndjson = options.framing === 'ndjson' ? new NdjsonParser() : undefined;
    // Loaded on first use: AWS's codec is not worth its start-up time to the many sidecars that never see Bedrock.
    this.eventStream = options.framing === 'eventstream' ? new (require('./eventStreamParser') as typeof import('./eventStreamParser')).EventStreamParser() : undefined;
    this.decoder = createDecoder(options.contentEncoding);
    // Rewriting needs plain text; compressed responses are forwarded untouched.
    this.rewriting = options.hideInjectedUsage && options.framing === 'sse' && !this.decoder;
    this.decoded = this.decoder ? this.attachDecoder(this.decoder) : undefined;
    const headers = options.responseHeaders;
    if (headers !== undefined && options.dialect.readHeaders) this.guard('headers', () => options.dialect.readHeaders?.(headers, this.facts));
  }

  /**
   * What the client must receive now for this chunk from the provider. Only a stream whose
   * injected usage is hidden needs its events framed (and their members located) first; reading
   * them waits for `catchUp()`.
   */
  relay(chunk: Buffer): Buffer {
    if (this.decoder) {
      // Decoded on zlib's own schedule: reading is already off the relaying path.
      if (!this.decoderInputClosed) this.decoder.write(chunk);
      return chunk;
    }
    const arrivedAt = performance.now();
    if (!this.rewriting) {
      if (!this.broken) this.unread.push({ arrivedAt, chunk });
      return chunk;
    }
    return this.relayRewritten(chunk, arrivedAt);
  }

  /** Read everything relayed so far (model, usage, errors, chunk timing). Cheap when there is nothing new. */
  catchUp(): void {
    if (this.unread.length === 0) return;
    const unread = this.unread;
    this.unread = [];
    for (const item of unread) {
      this.arrivedAt = item.arrivedAt;
      if ('chunk' in item) this.observe(item.chunk);
      else if ('event' in item) this.readEvent(item.event, item.json);
      else this.finishObservation();
    }
  }

  /**
   * End of the provider's body: returns any held-back bytes the client must still receive. As with
   * `relay()`, what the end leaves to read (a whole JSON answer, an unterminated last event) waits
   * for `catchUp()`, so the client's last bytes do not wait for it.
   */
  endOfBody(): Buffer {
    if (this.decoder) {
      if (!this.decoderInputClosed) {
        this.decoderInputClosed = true;
        this.decoder.end();
      }
      return NO_BYTES;
    }
    if (this.rewriting) {
      if (this.broken) return this.takeHeldBack();
      const arrivedAt = performance.now();
      const heldBack = this.sse?.remainder ?? NO_BYTES;
      const events = this.guard('sse', () => this.sse?.end());
      return events === undefined ? heldBack : this.rewriteEvents(events, arrivedAt);
    }
    if (!this.broken) this.unread.push({ arrivedAt: performance.now(), endOfBody: true });
    return NO_BYTES;
  }

  /**
   * The body will not end normally (the provider broke off, the client left, a timeout). A plain
   * body needs nothing: what was relayed is read by `catchUp()`. A compressed one would otherwise
   * never settle, and its call never be recorded: what was written to the decoder is decoded and
   * read, then `settled()` resolves. As for a plain body, the unfinished last event stays unread.
   */
  bodyCut(): void {
    const decoder = this.decoder;
    if (decoder === undefined || this.decoderInputClosed) return;
    this.decoderInputClosed = true;
    // A flush decodes everything written so far without asking for the end of the compressed
    // stream (which never came); its output is read (the 'data' listener keeps the decoder
    // flowing) before the callback runs.
    decoder.flush(() => this.stopDecoding());
  }

  /**
   * The provider broke off: the unfinished event held back for rewriting, as received, so the
   * client still gets every byte a direct call would have (it is never rewritten: it never ended).
   */
  releaseHeldBack(): Buffer {
    return this.rewriting ? this.takeHeldBack() : NO_BYTES;
  }

  /** The unfinished event the parser holds, once: from then on every byte passes straight through. */
  private takeHeldBack(): Buffer {
    if (this.heldBackReleased) return NO_BYTES;
    this.heldBackReleased = true;
    return this.sse?.remainder ?? NO_BYTES;
  }

  /**
   * Count the JSON body kept for reading against `lease` (the sidecar's shared body budget). Set
   * before the first chunk; the lease is given back once the body has been read or dropped.
   */
  holdBodyFrom(lease: BodyLease): void {
    this.bodyLease = lease;
  }

  /**
   * The exchange is over (recorded, however it ended): whatever of the body is still kept will
   * never be read, so it is dropped and its budget share given back. Later chunks are not kept.
   */
  dropBody(): void {
    this.bodyTooLarge = true;
    this.bodyParts = [];
    this.bodyLease?.release();
  }

  /** Resolves once the side copy is fully parsed; undefined when it already is (only decompression is asynchronous). */
  settled(): Promise<void> | undefined {
    return this.decoded;
  }

  private attachDecoder(decoder: Decoder): Promise<void> {
    return new Promise((resolve) => {
      this.settleDecoded = () => {
        this.decodingDone = true;
        resolve();
      };
      decoder.on('data', (plain: Buffer) => {
        if (this.decodingDone) return;
        this.arrivedAt = performance.now();
        this.observe(plain);
      });
      decoder.on('end', () => {
        if (this.decodingDone) return;
        this.finishObservation();
        this.settleDecoded();
      });
      decoder.on('error', (error) => {
        if (this.decodingDone) return;
        this.fail('decompress', error);
      });
    });
  }

  /** Decode no more of a compressed body: its zlib state is freed, and the call can be recorded. */
  private stopDecoding(): void {
    if (this.decodingDone) return;
    this.decoderInputClosed = true;
    this.decoder?.destroy();
    this.settleDecoded();
  }

  private observe(chunk: Buffer): void {
    if (this.broken) return;
    if (this.sse) this.handleEvents(this.guard('sse', () => this.sse?.push(chunk)) ?? []);
    else if (this.ndjson) this.handleEvents(this.guard('ndjson', () => this.ndjson?.push(chunk)) ?? []);
    else if (this.eventStream) this.handleEvents(this.readEventStream((parser) => parser.push(chunk)));
    else this.collectBody(chunk);
    // A compressed stream with an event past the per-event limit is read no further: decoding a
    // bomb to find where that event ends is what costs the CPU (a plain one is only scanned).
    if (this.decoder && !this.decodingDone && (this.sse?.oversizedEvents ?? this.ndjson?.oversizedLines ?? 0) > 0) {
      this.options.onTelemetryError('response_too_large', undefined);
      this.stopDecoding();
    }
  }

  /** Events of an AWS event stream; a frame that cannot be read ends the reading, counted once. */
  private readEventStream(step: (parser: EventStreamParser) => StreamEvent[]): StreamEvent[] {
    const parser = this.eventStream as EventStreamParser;
    const wasCorrupt = parser.corrupt !== undefined;
    const events = this.guard('eventstream', () => step(parser)) ?? [];
    if (!wasCorrupt && parser.corrupt !== undefined) {
      this.options.onTelemetryError(parser.corrupt === 'oversized' ? 'response_too_large' : 'eventstream', new Error(`event stream: ${parser.corrupt}`));
      if (this.decoder) this.stopDecoding();
    }
    return events;
  }

  private finishObservation(): void {
    if (this.broken) return;
    if (this.sse) this.handleEvents(this.guard('sse', () => this.sse?.end()) ?? []);
    else if (this.ndjson) this.handleEvents(this.guard('ndjson', () => this.ndjson?.end()) ?? []);
    else if (this.eventStream) this.handleEvents(this.readEventStream((parser) => parser.end()));
    else this.parseBody();
  }

  private relayRewritten(chunk: Buffer, arrivedAt: number): Buffer {
    if (this.broken) {
      const heldBack = this.takeHeldBack();
      return heldBack.length === 0 ? chunk : Buffer.concat([heldBack, chunk]);
    }
    const heldBack = this.sse?.remainder ?? NO_BYTES;
    const events = this.guard('sse', () => this.sse?.push(chunk));
    if (events === undefined) {
      // Parser failure: release what was held back before this chunk and pass everything through from now on.
      this.heldBackReleased = true;
      return Buffer.concat([heldBack, chunk]);
    }
    return this.rewriteEvents(events, arrivedAt);
  }

  /** The events' bytes as the client gets them; an event kept as it is costs no copy. Each is read later, by catchUp. */
  private rewriteEvents(events: FramedEvent[], arrivedAt: number): Buffer {
    const out: Buffer[] = [];
    for (const event of events) {
      const json = this.layoutOf(event);
      const bytes = this.rewriteOne(event, json);
      if (bytes.length > 0) out.push(bytes);
      this.unread.push({ arrivedAt, event, json });
    }
    return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out);
  }

  private rewriteOne(event: FramedEvent, json: LayoutMembers): Buffer {
    const rewrite = this.guard('rewrite', () => this.options.dialect.rewriteInjectedEvent?.(event, json));
    if (!rewrite || rewrite.action === 'keep') return event.raw;
    if (rewrite.action === 'drop') return NO_BYTES;
    const cut = json.memberCut(rewrite.name);
    // Data spread over several `data:` lines has no single range to cut from; no provider sends JSON so.
    if (cut === undefined || event.dataStart === undefined) return event.raw;
    // Only the data payload changes; the framing (event name, line endings) stays the provider's.
    return Buffer.concat([event.raw.subarray(0, event.dataStart + cut[0]), event.raw.subarray(event.dataStart + cut[1])]);
  }

  private handleEvents(events: StreamEvent[]): void {
    for (const event of events) this.readEvent(event, this.layoutOf(event));
  }

  /** The event data's members; none when they cannot be located (the observer is then broken and reads no more). */
  private layoutOf(event: StreamEvent | FramedEvent): LayoutMembers {
    return this.guard('event', () => eventMembers(event.data, dataBytes(event))) ?? NO_MEMBERS;
  }

  private readEvent(event: StreamEvent, json: LayoutMembers): void {
    if (this.broken) return;
    const result = this.guard('event', () => this.options.dialect.readStreamEvent(event, this.facts, json));
    if (result?.content) this.markContent();
  }

  private markContent(): void {
    const now = this.arrivedAt;
    if (this.firstContentAt === undefined) this.firstContentAt = now;
    else if (this.lastContentAt !== undefined && this.chunkGapsSeconds.length < MAX_GAPS) {
      this.chunkGapsSeconds.push((now - this.lastContentAt) / 1000);
    }
    this.lastContentAt = now;
  }

  private collectBody(chunk: Buffer): void {
    if (this.options.timeJsonChunks) this.markContent();
    if (this.bodyTooLarge) return;
    this.bodyBytes += chunk.length;
    if (this.bodyBytes > this.options.maxBodyBytes) {
      this.giveUpBody('response_too_large');
      return;
    }
    // Past the shared budget the body is not kept (the client still gets every byte); the call is
    // recorded without what it would have told, like one past the size limit.
    if (this.bodyLease !== undefined && !this.bodyLease.grow(chunk.length)) {
      this.giveUpBody('response_over_budget');
      return;
    }
    this.bodyParts.push(chunk);
  }

  private giveUpBody(stage: 'response_too_large' | 'response_over_budget'): void {
    this.dropBody();
    this.options.onTelemetryError(stage, undefined);
    // Nothing more of a compressed body would be parsed: decoding the rest only burns CPU.
    if (this.decoder) this.stopDecoding();
  }

  private parseBody(): void {
    if (this.bodyTooLarge || this.bodyBytes === 0) return;
    const body = this.bodyParts.length === 1 ? (this.bodyParts[0] as Buffer) : Buffer.concat(this.bodyParts, this.bodyBytes);
    this.bodyParts = [];
    try {
      const documents = documentsOf(body);
      if (documents === undefined) {
        this.bodyUnreadable = true;
        this.options.onTelemetryError('response_not_json', undefined);
        return;
      }
      this.guard('body', () => {
        for (const document of documents) this.options.dialect.readBody(document, this.facts);
      });
    } finally {
      // Read (or found unreadable): the body is garbage from here, so its share goes back now.
      this.bodyLease?.release();
    }
  }

  private guard<T>(stage: string, work: () => T): T | undefined {
    try {
      return work();
    } catch (error) {
      this.fail(stage, error);
      return undefined;
    }
  }

  private fail(stage: string, error: unknown): void {
    this.broken = true;
    // Nothing kept will be read any more: its budget share goes back now, not when the call ends.
    this.dropBody();
    this.options.onTelemetryError(stage, error);
    // Nothing more will be read: decoding the rest of a compressed body would be wasted.
    if (this.decoder) this.stopDecoding();
  }
}

/** An SSE event's data as received, when it is one line of the event's bytes; NDJSON lines have none. */
function dataBytes(event: StreamEvent | FramedEvent): Buffer | undefined {
  if (!('raw' in event) || event.dataStart === undefined || event.dataEnd === undefined) return undefined;
  return event.raw.subarray(event.dataStart, event.dataEnd);
}

function createDecoder(encoding: string | undefined): Decoder | undefined {
  switch (encoding?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      return zlib.createInflate();
    case 'br':
      return zlib.createBrotliDecompress();
    default:
      return undefined;
  }
}

/** Pick how to read a body from its status and content type. */
export function framingFor(status: number, contentType: string | undefined): ResponseFraming {
  if (status >= 400) return 'json';
  const type = (contentType ?? '').toLowerCase();
  if (type.includes('text/event-stream')) return 'sse';
  if (type.includes('ndjson') || type.includes('stream+json') || type.includes('jsonl')) return 'ndjson';
  if (type.includes('application/vnd.amazon.eventstream')) return 'eventstream';
  return 'json';
}
