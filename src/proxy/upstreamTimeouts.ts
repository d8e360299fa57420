/**
 * Deadlines on the upstream leg: connecting, waiting for the first response byte, and silence
 * between chunks. Defaults are long because reasoning models may think for minutes before they
 * answer; the point is that a dead provider never holds a client forever.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';

export interface UpstreamTimeouts {
  connectMs: number;
  firstByteMs: number;
  idleMs: number;
}

/** Errors carry `ETIMEDOUT` so the proxy answers 504 and records `error.type=timeout`. */
export function timeoutError(phase: 'connect' | 'first_byte' | 'idle'): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`upstream ${phase.replace('_', ' ')} timeout`);
  error.code = 'ETIMEDOUT';
  return error;
}

/** Arm the connect and first-byte deadlines on a request that is about to be sent. */
export function armRequestDeadlines(request: ClientRequest, timeouts: UpstreamTimeouts): void {
  const socket = request.socket;
  if (socket?.connecting) {
    const connect = setTimeout(() => request.destroy(timeoutError('connect')), timeouts.connectMs);
    connect.unref();
    const clear = (): void => clearTimeout(connect);
    socket.once('connect', clear);
    socket.once('close', clear);
  }
  const firstByte = setTimeout(() => request.destroy(timeoutError('first_byte')), timeouts.firstByteMs);
  firstByte.unref();
  const clearFirstByte = (): void => clearTimeout(firstByte);
  request.once('response', clearFirstByte);
  request.once('close', clearFirstByte);
}

/** Cut a response that goes silent for longer than `idleMs` (each chunk restarts the clock). */
export function watchIdle(response: IncomingMessage, idleMs: number, onIdle: () => void): void {
  const timer = setTimeout(() => {
    onIdle();
    response.destroy(timeoutError('idle'));
  }, idleMs);
  timer.unref();
  // refresh() re-arms the same timer: no allocation per chunk.
  const restart = (): void => {
    timer.refresh();
  };
  response.on('data', restart);
  response.once('close', () => {
    clearTimeout(timer);
    response.off('data', restart);
  });
}
