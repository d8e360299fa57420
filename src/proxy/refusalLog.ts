/**
 * Log lines for what the listeners refused (400, 408, 413, 431, connection limits) and for calls
 * the upstream failed (the sidecar's own 502/504). Each is logged at debug; at info a flood of the
 * same kind gives one line per interval with the count it stands for, so a hostile client cannot
 * fill the log. Fields are structural only (status, error code, limits): never request bytes.
 */
import type { LogFields, Logger } from '../log/logger';

/** At info level, one line per kind of event in this interval. */
export const REFUSAL_LOG_INTERVAL_MS = 10_000;

export interface RefusalLog {
  /** `kind` groups events for rate limiting (e.g. message and status). */
  note(kind: string, message: string, fields: LogFields): void;
}

export function createRefusalLog(logger: Logger, intervalMs = REFUSAL_LOG_INTERVAL_MS, now: () => number = Date.now): RefusalLog {
  const kinds = new Map<string, { loggedAt: number; suppressed: number }>();
  return {
    note(kind, message, fields) {
      if (logger.enabled('debug')) {
        logger.debug(message, fields);
        return;
      }
      if (!logger.enabled('info')) return;
      const at = now();
      const seen = kinds.get(kind);
      if (seen !== undefined && at - seen.loggedAt < intervalMs) {
        seen.suppressed += 1;
        return;
      }
      // The kinds are a handful of fixed strings, so this map stays tiny.
      kinds.set(kind, { loggedAt: at, suppressed: 0 });
      logger.info(message, { ...fields, suppressedSinceLastLine: seen?.suppressed });
    },
  };
}
