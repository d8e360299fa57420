/**
 * Ways to cut a byte stream into network chunks, for parser tests: at given offsets, byte by
 * byte, or at reproducible pseudo-random sizes. And a feeder that pushes chunks through a
 * streaming parser and collects every event, end() included.
 */

export interface StreamingParser<E> {
  push(chunk: Buffer): E[];
  end(): E[];
}

/** Feed `chunks` one push at a time, then end(); every event in order. */
export function feed<E>(parser: StreamingParser<E>, chunks: Buffer[]): E[] {
  const events: E[] = [];
  for (const chunk of chunks) events.push(...parser.push(chunk));
  events.push(...parser.end());
  return events;
}

export function bytesOf(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

/** Split at the given byte offsets (sorted, deduplicated, in range). */
export function splitAt(buffer: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < buffer.length))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points, buffer.length]) {
    chunks.push(buffer.subarray(start, point));
    start = point;
  }
  return chunks;
}

export function bytewise(buffer: Buffer): Buffer[] {
  return Array.from({ length: buffer.length }, (_, i) => buffer.subarray(i, i + 1));
}

/** Deterministic pseudo-random chunk sizes 1..maxSize (mulberry32), so a failure is reproducible. */
export function randomChunks(buffer: Buffer, seed: number, maxSize: number): Buffer[] {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const chunks: Buffer[] = [];
  for (let i = 0; i < buffer.length; ) {
    const size = 1 + Math.floor(next() * maxSize);
    chunks.push(buffer.subarray(i, i + size));
    i += size;
  }
  return chunks;
}
