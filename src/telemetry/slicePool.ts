/**
 * The 64 KiB buffers a `/metrics` page is written into, and the writer into them, handed back once the socket has sent them
 * and used again by the next slice or scrape. A page of 1,000 label sets is 2-14 MB: allocated anew
 * on every scrape, those buffers were much of the garbage collector's work (--cpu-prof, bench/scrape.ts).
 * Only a few are in flight at a time, because the admin port waits for the socket to drain.
 */
export const SLICE_BYTES = 64 * 1024;
/** Buffers kept for reuse; more in flight than this are simply collected. */
const KEPT = 16;

export class SlicePool {
  private readonly free: Buffer[] = [];

  /** A buffer of at least `bytes` (64 KiB unless more is needed). */
  take(bytes = SLICE_BYTES): Buffer {
    if (bytes <= SLICE_BYTES) return this.free.pop() ?? Buffer.allocUnsafeSlow(SLICE_BYTES);
    return Buffer.allocUnsafeSlow(bytes);
  }

  /** A slice handed out by a writer (a view at the start of a taken buffer) is free again. */
  release(slice: Buffer): void {
    if (slice.byteOffset !== 0 || slice.buffer.byteLength !== SLICE_BYTES || this.free.length >= KEPT) return;
    this.free.push(Buffer.from(slice.buffer, 0, SLICE_BYTES));
  }
}

/**
 * Writes a page into the pool's buffers, a slice at a time: both exposition formats write through
 * it, and hand the slices set aside (`takeFull`) to the socket between series.
 */
export class PageWriter {
  buffer: Buffer;
  /** Bytes written into `buffer`. */
  at = 0;
  private readonly full: Buffer[] = [];

  constructor(private readonly pool: SlicePool) {
    this.buffer = pool.take();
  }

  /** Room for `bytes` more in `buffer`; a buffer that lacks it is set aside as a full slice. */
  room(bytes: number): void {
    if (this.at + bytes <= this.buffer.length) return;
    if (this.at > 0) this.full.push(this.buffer.subarray(0, this.at));
    else this.pool.release(this.buffer);
    this.buffer = this.pool.take(bytes);
    this.at = 0;
  }

  byte(value: number): void {
    this.room(1);
    this.buffer[this.at++] = value;
  }

  bytes(value: Buffer): void {
    this.room(value.length);
    this.at += value.copy(this.buffer, this.at);
  }

  ascii(text: string): void {
    this.room(text.length);
    this.at += this.buffer.write(text, this.at, 'latin1');
  }

  utf8(text: string): void {
    this.room(text.length * 3);
    this.at += this.buffer.write(text, this.at, 'utf8');
  }

  /** The slices filled so far; the one being filled stays. */
  takeFull(): Buffer[] {
    return this.full.splice(0);
  }

  /** The rest of the page, after the last `takeFull()`; an unused buffer goes back to the pool. */
  finish(): Buffer[] {
    const rest = this.takeFull();
    if (this.at > 0) rest.push(this.buffer.subarray(0, this.at));
    else this.pool.release(this.buffer);
    return rest;
  }
}
