/**
 * One memory budget for every body the sidecar holds in full at the same time: request bodies
 * read for telemetry and non-streamed answers kept to be read after the client has their bytes. The per-call limit alone does not
 * bound memory: eight stalled 8 MiB bodies took RSS past 128 Mi (the injected limit then).
 * A caller that cannot get its share does not wait for one: it streams the body through unparsed.
 */

export interface BodyBudget {
  /** Bytes the budget allows in total. */
  readonly limit: number;
  /** Bytes reserved now. */
  readonly used: number;
  /** The most bytes ever reserved at once: lets a test show the budget held under load, not only at one instant. */
  readonly peak: number;
  /** Reserve `bytes` if they fit; false, and nothing reserved, if they do not. */
  tryAcquire(bytes: number): boolean;
  /** Give back bytes a `tryAcquire` reserved. */
  release(bytes: number): void;
  /** A reservation that grows as a body arrives and is given back once, whoever releases it first. */
  lease(): BodyLease;
}

export interface BodyLease {
  /** Bytes this lease holds. */
  readonly held: number;
  /** Reserve `bytes` more; false, and nothing more reserved, if they do not fit. */
  grow(bytes: number): boolean;
  /** Give everything back; later calls do nothing. */
  release(): void;
}

export function createBodyBudget(limitBytes: number): BodyBudget {
  let used = 0;
  let peak = 0;
  const budget: BodyBudget = {
    limit: limitBytes,
    get used() {
      return used;
    },
    get peak() {
      return peak;
    },
    tryAcquire(bytes) {
      if (bytes < 0 || used + bytes > limitBytes) return false;
      used += bytes;
      peak = Math.max(peak, used);
      return true;
    },
    release(bytes) {
      // Never below zero: a double release must not hand out memory that is still held.
      used = Math.max(0, used - bytes);
    },
    lease() {
      let held = 0;
      let released = false;
      return {
        get held() {
          return held;
        },
        grow(bytes) {
          if (released || !budget.tryAcquire(bytes)) return false;
          held += bytes;
          return true;
        },
        release() {
          if (released) return;
          released = true;
          budget.release(held);
          held = 0;
        },
      };
    },
  };
  return budget;
}

/** A budget that never refuses (callers built without one, e.g. unit tests of the proxy app). */
export const UNLIMITED_BUDGET: BodyBudget = createBodyBudget(Number.POSITIVE_INFINITY);
