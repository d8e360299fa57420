/**
 * The 64 KiB buffers a `/metrics` page is written into, handed back once the socket has sent them
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
