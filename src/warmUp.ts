/**
 * Work that start-up leaves for later (loading the upstream pool, the metrics SDK, the exporter),
 * done after a delay and one step per turn of the event loop, so that traffic already flowing
 * waits for one step at most rather than for all of them.
 */
export interface WarmUp {
  /** Stop before the next step (shutdown). */
  cancel(): void;
}

/**
 * Runs `steps` in order, the first after `delayMs`. A step that throws is reported and skipped:
 * everything warmed here is also built on first use, where its failure is handled.
 */
export function scheduleWarmUp(steps: ReadonlyArray<() => void>, delayMs: number, onStepFailed: (error: unknown) => void): WarmUp {
  const queue = [...steps];
  let next: NodeJS.Immediate | undefined;
  const run = (): void => {
    const step = queue.shift();
    if (step === undefined) return;
    try {
      step();
    } catch (error) {
      onStepFailed(error);
    }
    // Not unref()ed: an unref()ed immediate waits for the next I/O to wake the loop, which in an
    // idle sidecar may be never.
    next = setImmediate(run);
  };
  // unref()ed: a process that is otherwise done does not wait for its warm-up.
  const first = setTimeout(run, delayMs).unref();
  return {
    cancel: () => {
      clearTimeout(first);
      if (next !== undefined) clearImmediate(next);
      queue.length = 0;
    },
  };
}
