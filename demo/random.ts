/**
 * A seedable random source for the demo services. Production runs seed from the clock; tests
 * pass a fixed seed so a run of the fake provider and the traffic generator is repeatable.
 */

/** Returns a number in [0, 1), like Math.random. */
export type Random = () => number;

/** mulberry32: tiny, fast and good enough to shape demo traffic. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Integer in [min, max]. */
export function between(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** One of `items`, chosen with probability proportional to its weight. */
export function weighted<T extends { weight: number }>(random: Random, items: readonly T[]): T {
  const total = items.reduce((sum, item) => sum + item.weight, 0);
  let point = random() * total;
  for (const item of items) {
    point -= item.weight;
    if (point < 0) return item;
  }
  const last = items[items.length - 1];
  if (last === undefined) throw new Error('weighted() needs at least one item');
  return last;
}

