/**
 * Drops interim `100 Continue` answers from an upstream connection before undici's parser sees
 * them. RFC 9110 (15.2) requires a client to accept 1xx answers it did not ask for, and some
 * servers send `100 Continue` to every request with a body; undici 7 (lib/dispatcher/client-h1.js,
 * onHeadersComplete) destroys the socket on any 100, so the client would get a 502. Other 1xx
 * (102, 103) undici already skips. undici has no option for this, so the filter sits on the socket.
 *
 * Only the start of an answer is looked at: the filter is armed when a request head is written and
 * disarmed by the first status line that is not 100. The pool runs one request at a time per
 * connection (pipelining 1), so a request head is only written once the previous answer is complete
 * and the next bytes read start an answer; body bytes are never inspected.
 */
import type { Duplex } from 'node:stream';

/** "HTTP/1.1 100" and the space after it: enough to tell a 100 from any other status. */
const STATUS_PREFIX_BYTES = 13;
const CONTINUE_LINE = /^HTTP\/1\.[01] 100[ \r]/;
const HEAD_END = Buffer.from('\r\n\r\n');
/** A 100's head is a status line and perhaps a few fields; a longer one is not skipped. */
const MAX_INTERIM_HEAD_BYTES = 8 * 1024;
/** Interim answers skipped per request; more are left to undici, which fails the call. */
const MAX_INTERIMS_PER_ANSWER = 32;

/** Whether a status line's first few bytes could still turn out to be a 100. */
function couldBeContinue(start: Buffer): boolean {
  const text = start.toString('latin1');
  return 'HTTP/1.1 100 '.startsWith(text) || 'HTTP/1.0 100 '.startsWith(text);
}

/** The pure part: feed it what the socket read, take back what the HTTP parser should see. */
export class InterimContinueFilter {
  private armed = true;
  private held: Buffer | undefined;
  private skipped = 0;
  /** Interim answers dropped on this connection, for tests and logs. */
  dropped = 0;

  /** A request head was written: the next bytes read start its answer. */
  requestStarted(): void {
    this.armed = true;
    this.skipped = 0;
  }

  /**
   * Bytes for the parser from `chunk` (null when everything read so far is held back until it
   * can be told apart from a 100, or was one).
   */
  take(chunk: Buffer): Buffer | null {
    if (!this.armed) return chunk;
    let pending = this.held === undefined ? chunk : Buffer.concat([this.held, chunk]);
    this.held = undefined;
    while (pending.length > 0) {
      if (pending.length < STATUS_PREFIX_BYTES && couldBeContinue(pending)) {
        this.held = pending;
        return null;
      }
      if (!CONTINUE_LINE.test(pending.subarray(0, STATUS_PREFIX_BYTES).toString('latin1')) || this.skipped >= MAX_INTERIMS_PER_ANSWER) {
        this.armed = false;
        return pending;
      }
      const end = pending.indexOf(HEAD_END);
      if (end === -1) {
        if (pending.length > MAX_INTERIM_HEAD_BYTES) {
          this.armed = false;
          return pending;
        }
        this.held = pending;
        return null;
      }
      pending = pending.subarray(end + HEAD_END.length);
      this.skipped += 1;
      this.dropped += 1;
    }
    return null;
  }
}

/** undici writes each request head as one latin1 string that starts with its request line. */
const REQUEST_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ \S+ HTTP\/1\.1\r\n/;

/**
 * Puts a filter on a freshly connected upstream socket: its `read()` (how undici's parser pulls
 * bytes) returns what the filter lets through, and its `write()` arms the filter on a request head.
 * Body chunks are Buffers or chunk-size strings and never match a request line.
 */
export function filterInterimContinue(socket: Duplex): InterimContinueFilter {
  const filter = new InterimContinueFilter();
  const read = socket.read.bind(socket);
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  socket.read = (size?: number): unknown => {
    for (;;) {
      const chunk: unknown = read(size);
      if (chunk === null || !Buffer.isBuffer(chunk)) return chunk;
      const passed = filter.take(chunk);
      if (passed !== null) return passed;
    }
  };
  socket.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
    if (typeof chunk === 'string' && REQUEST_LINE.test(chunk)) filter.requestStarted();
    return write(chunk, ...rest);
  }) as Duplex['write'];
  return filter;
}
