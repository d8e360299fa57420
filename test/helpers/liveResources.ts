/**
 * Counts of what keeps a process busy, for leak checks measured before and after some traffic.
 * `process.getActiveResourcesInfo()` lists only resources that keep the event loop alive, so an
 * unref'd timer (the sidecar's deadlines are unref'd) is invisible to it; an async hook also
 * counts every timer that was created and has neither fired nor been cleared.
 */
import { createHook } from 'node:async_hooks';

export interface ResourceCounts {
  /** Ref'd sockets: client, server and upstream connections alike. */
  sockets: number;
  /** Ref'd timers. */
  timers: number;
  /** Every pending timer, ref'd or not. */
  pendingTimers: number;
}

export interface ResourceTracker {
  counts(): ResourceCounts;
  stop(): void;
}

export function trackResources(): ResourceTracker {
  const pending = new Set<number>();
  const hook = createHook({
    init(asyncId, type) {
      if (type === 'Timeout') pending.add(asyncId);
    },
    destroy(asyncId) {
      pending.delete(asyncId);
    },
  }).enable();
  return {
    counts() {
      const active = process.getActiveResourcesInfo();
      return {
        sockets: active.filter((type) => type === 'TCPSocketWrap').length,
        timers: active.filter((type) => type === 'Timeout').length,
        pendingTimers: pending.size,
      };
    },
    stop: () => hook.disable(),
  };
}
