/**
 * Reads a request body so the provider module can see the model and streaming flag.
 * Bodies over the per-call limit, or that do not fit in the sidecar's shared body budget, are not
 * parsed: what was read is pushed back onto the stream and the whole body is forwarded untouched,
 * so nothing is lost and memory stays bounded.
 */
import type { IncomingMessage } from 'node:http';
import type { BodyLease } from './bodyBudget';

export type BodyRead = { kind: 'complete'; body: Buffer } | { kind: 'passthrough'; reason: 'too_large' | 'over_budget' };

const METHODS_WITHOUT_BODY = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE']);

/**
 * The share of the body budget a request may fill, set by the server before the request reaches
 * the proxy app and given back when its response closes (see serverGuards). It travels with the
 * request so that readBody's callers need no new parameter; a request without one is not budgeted.
 */
const leases = new WeakMap<IncomingMessage, BodyLease>();

export function assignBodyLease(req: IncomingMessage, lease: BodyLease): void {
  leases.set(req, lease);
}

/** Whether the method may carry a body the proxy reads (the server budgets only those). */
export function mayCarryBody(method: string | undefined): boolean {
  return !METHODS_WITHOUT_BODY.has(method ?? 'GET');
}

/** `read`: a JSON body within the limit; `too_large`: JSON but declared over the limit; `skip`: not ours to parse. */
export function bodyPlan(req: IncomingMessage, limit: number): 'read' | 'too_large' | 'skip' {
  if (!mayCarryBody(req.method)) return 'skip';
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (!type.includes('json')) return 'skip';
  const declared = Number(req.headers['content-length']);
  return Number.isFinite(declared) && declared > limit ? 'too_large' : 'read';
}

/**
 * Reads the body and calls `done` once: with the body, with `passthrough`, or with the error that
 * ended the client's stream. A callback, not a promise: on every call the async function, its
 * awaits and the `.then` were about 2 KiB of garbage.
 */
export function readBody(req: IncomingMessage, limit: number, done: (read: BodyRead | Error) => void): void {
  const lease = leases.get(req);
  // A declared length is reserved whole before reading: a body that cannot fit is never started,
  // so it streams through from its first byte instead of being pushed back later.
  const declared = Number(req.headers['content-length']);
  if (lease !== undefined && Number.isFinite(declared) && declared > 0 && !lease.grow(declared)) {
    lease.release();
    done({ kind: 'passthrough', reason: 'over_budget' });
    return;
  }
  const parts: Buffer[] = [];
  let size = 0;
  const cleanup = (): void => {
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onError);
  };
  const giveBack = (reason: 'too_large' | 'over_budget'): void => {
    cleanup();
    lease?.release();
    req.pause();
    req.unshift(Buffer.concat(parts, size));
    done({ kind: 'passthrough', reason });
  };
  const onData = (chunk: Buffer): void => {
    size += chunk.length;
    parts.push(chunk);
    if (size > limit) return giveBack('too_large');
    // A body without a declared length (chunked) is budgeted as it grows.
    if (lease !== undefined && size > lease.held && !lease.grow(size - lease.held)) giveBack('over_budget');
  };
  const onEnd = (): void => {
    cleanup();
    // Most bodies arrive in one chunk: that chunk is the body, with no copy into a new buffer.
    done({ kind: 'complete', body: parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, size) });
  };
  const onError = (error: Error): void => {
    cleanup();
    lease?.release();
    done(error);
  };
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onError);
}
