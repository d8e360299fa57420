/**
 * Reads a request body so the provider module can see the model and streaming flag.
 * Bodies over the limit are not parsed: what was read is pushed back onto the stream and the
 * whole body is forwarded untouched, so nothing is lost and memory stays bounded.
 */
import type { IncomingMessage } from 'node:http';

export type BodyRead = { kind: 'complete'; body: Buffer } | { kind: 'passthrough' };

const METHODS_WITHOUT_BODY = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE']);

/** `read`: a JSON body within the limit; `too_large`: JSON but declared over the limit; `skip`: not ours to parse. */
export function bodyPlan(req: IncomingMessage, limit: number): 'read' | 'too_large' | 'skip' {
  if (METHODS_WITHOUT_BODY.has(req.method ?? 'GET')) return 'skip';
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (!type.includes('json')) return 'skip';
  const declared = Number(req.headers['content-length']);
  return Number.isFinite(declared) && declared > limit ? 'too_large' : 'read';
}

/**
 * Reads the body and calls `done` once: with the body, with `passthrough`, or with the error that
 * ended the client's stream. A callback, not a promise: on every call the async function, its
 * awaits and the `.then` were about 2 KiB of garbage (issue 5, allocation profile).
 */
export function readBody(req: IncomingMessage, limit: number, done: (read: BodyRead | Error) => void): void {
  const parts: Buffer[] = [];
  let size = 0;
  const cleanup = (): void => {
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onError);
  };
  const onData = (chunk: Buffer): void => {
    size += chunk.length;
    parts.push(chunk);
    if (size > limit) {
      cleanup();
      req.pause();
      req.unshift(Buffer.concat(parts, size));
      done({ kind: 'passthrough' });
    }
  };
  const onEnd = (): void => {
    cleanup();
    // Most bodies arrive in one chunk: that chunk is the body, with no copy into a new buffer.
    done({ kind: 'complete', body: parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, size) });
  };
  const onError = (error: Error): void => {
    cleanup();
    done(error);
  };
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onError);
}
