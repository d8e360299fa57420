/**
 * The project's one logger: levelled, JSON or text lines, one write per line.
 * Callers pass only structural facts (routes, status codes, counts): never bodies, prompts,
 * headers, API keys or query strings.
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  enabled(level: LogLevel): boolean;
}

export interface LogSink {
  write(line: string): unknown;
}

export function createLogger(level: LogLevel, format: LogFormat, sink: LogSink = process.stderr): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const enabled = (candidate: LogLevel): boolean => LOG_LEVELS.indexOf(candidate) >= threshold;
  const emit = (candidate: LogLevel, message: string, fields?: LogFields): void => {
    if (!enabled(candidate)) return;
    const time = new Date().toISOString();
    sink.write(format === 'json' ? jsonLine(time, candidate, message, fields) : textLine(time, candidate, message, fields));
  };
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
    enabled,
  };
}

function jsonLine(time: string, level: LogLevel, message: string, fields?: LogFields): string {
  return `${JSON.stringify({ time, level, msg: message, ...fields })}\n`;
}

function textLine(time: string, level: LogLevel, message: string, fields?: LogFields): string {
  const rest = fields
    ? Object.entries(fields)
        .filter(([, value]) => value !== undefined)
        .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
        .join(' ')
    : '';
  return `${time} ${level.toUpperCase()} ${message}${rest ? ` ${rest}` : ''}\n`;
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = createLogger('error', 'json', { write: () => undefined });
