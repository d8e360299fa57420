import { OVERFLOW_VALUE } from './names';

/**
 * Bounds the distinct values one attribute may take. The first `maxValues` distinct values
 * pass through; later new values become `_OTHER`, so a client sending a million model names
 * or tenant ids produces at most `maxValues + 1` series and bounded memory.
 */
export class CardinalityLimiter {
  private readonly seen = new Set<string>();
  overflowed = 0;

  constructor(
    readonly maxValues: number,
    private readonly maxLength = 128,
  ) {}

  admit(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.maxValues || value.length > this.maxLength || !isPrintable(value)) {
      this.overflowed += 1;
      return OVERFLOW_VALUE;
    }
    this.seen.add(value);
    return value;
  }
}

/** Control characters and lone surrogates never make it into a label. */
function isPrintable(value: string): boolean {
  return !/[\u0000-\u001f\u007f]/.test(value) && value.isWellFormed();
}
