/**
 * When each concurrent streaming worker starts. Pure.
 *
 * Starts are spread over one stream's length (so streams do not start in waves whose first bytes
 * queue behind each other) and each worker gets its own phase within the pacing interval (so the
 * paced chunks of concurrent streams do not all fall due at the same instant). Independent users'
 * streams have independent phases; with equal phases every proxy would be measured relaying a
 * burst of `concurrency` chunks at once, which is a figure of its own (CPU per event shows it).
 */

/**
 * Start offset of each of `concurrency` workers, ms: worker k starts about k / concurrency of the
 * way into one stream, at phase k / concurrency of the pacing interval.
 */
export function streamStartOffsets(concurrency: number, streamDurationMs: number, pacingMs: number): number[] {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a whole number >= 1, got ${concurrency}`);
  return Array.from({ length: concurrency }, (_, worker) => {
    const spread = (worker * streamDurationMs) / concurrency;
    return Math.floor(spread / pacingMs) * pacingMs + (worker * pacingMs) / concurrency;
  });
}
