/**
 * Rounds: each load level is measured in several short rounds with the paths in a rotating
 * order, so a burst of noise on a shared machine (another tenant, a hypervisor hiccup) lands in
 * one round of one path instead of in one path's only run. Pure.
 */

/** The items in round `round`'s order: rotated by one place per round. */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  if (items.length === 0) return [];
  const shift = ((round % items.length) + items.length) % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/** `total` split into `rounds` whole counts as even as possible, the larger ones first. */
export function splitAcrossRounds(total: number, rounds: number): number[] {
  if (!Number.isInteger(total) || total < 0) throw new RangeError(`total must be a whole number >= 0, got ${total}`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`rounds must be a whole number >= 1, got ${rounds}`);
  const base = Math.floor(total / rounds);
  const extra = total % rounds;
  return Array.from({ length: rounds }, (_, round) => base + (round < extra ? 1 : 0));
}
