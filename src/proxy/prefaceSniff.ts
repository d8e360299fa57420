/**
 * Tells HTTP/2 cleartext with prior knowledge (RFC 9113 §3.3) from HTTP/1.1 on one listener, by
 * the first bytes of each connection: the 24-byte client preface goes to an HTTP/2 server, anything
 * else to the http.Server's own connection handling, unchanged. At most the preface's length is
 * held before the decision; the bytes are put back on the socket for whichever side takes it.
 */
import type http from 'node:http';
import type { Socket } from 'node:net';

export const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export type PrefaceVerdict = 'http2' | 'http1' | 'undecided';

/** `http1` as soon as a byte differs from the preface (`PRI * HTTP/1.1` included), `http2` once all 24 match. */
export function classifyPreface(head: Buffer): PrefaceVerdict {
  const length = Math.min(head.length, HTTP2_PREFACE.length);
  if (head.compare(HTTP2_PREFACE, 0, length, 0, length) !== 0) return 'http1';
  return length === HTTP2_PREFACE.length ? 'http2' : 'undecided';
}

export interface PrefaceRouter {
  /**
   * Shutdown: destroy the connections whose first bytes have not told their protocol yet. They carry
   * no request, like the idle HTTP/1.1 connections Node closes at once.
   */
  destroyUndecided(): void;
}

type ConnectionListener = (this: http.Server, socket: Socket) => void;

/**
 * Takes over `server`'s 'connection' event: each accepted socket is read until its protocol is
 * known, then handed to `http2`, or to the listener node:http installed (which then behaves as if it
 * had been called at accept time). The server keeps listening, counting (`maxConnections`,
 * `getConnections`) and closing every connection of both kinds.
 */
export function routeByPreface(server: http.Server, http2: (socket: Socket) => void): PrefaceRouter {
  const listeners = server.listeners('connection') as ConnectionListener[];
  // node:http installs exactly one; anything else means this Node works differently and the
  // HTTP/1.1 path could not be kept as it is.
  const http1 = listeners[0];
  if (listeners.length !== 1 || http1 === undefined) throw new Error(`expected node:http's one 'connection' listener, found ${listeners.length}`);
  server.removeListener('connection', http1);
  const pending = new Set<Socket>();

  server.on('connection', (socket: Socket) => {
    pending.add(socket);
    const parts: Buffer[] = [];
    let size = 0;
    // A connection that never tells its protocol gets what Node gives an HTTP/1.1 connection that
    // sends no request head in time: its 408 (through 'clientError', as Node's own timeout does).
    const deadlineMs = server.headersTimeout;
    const timer = deadlineMs > 0 ? setTimeout(() => timedOut(), deadlineMs) : undefined;
    timer?.unref();
    const stopWatching = (): void => {
      clearTimeout(timer);
      pending.delete(socket);
      socket.off('data', onData);
      socket.off('end', ended);
      socket.off('close', stopWatching);
    };
    const refuse = (error: Error): void => {
      if (!server.emit('clientError', error, socket)) socket.destroy();
    };
    const timedOut = (): void => {
      stopWatching();
      refuse(Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }));
    };
    // The client closed its side first. What node:http does then (the socket is half-open, so
    // nothing else would close it): nothing sent, it ends the connection; part of a request line,
    // its parser fails the request at the end of input (a 400).
    const ended = (): void => {
      stopWatching();
      if (size === 0) socket.end();
      else refuse(Object.assign(new Error('Parse Error: Invalid EOF state'), { code: 'HPE_INVALID_EOF_STATE' }));
    };
    const onData = (chunk: Buffer): void => {
      parts.push(chunk);
      size += chunk.length;
      const head = parts.length === 1 ? chunk : Buffer.concat(parts, size);
      const verdict = classifyPreface(head);
      if (verdict === 'undecided') return;
      stopWatching();
      // Paused so nothing is emitted before the new owner listens; both owners read the socket's
      // buffer first (node:http through 'data' once resumed, node:http2 with read() on its next tick).
      socket.pause();
      socket.unshift(head);
      socket.off('error', ignoreError);
      if (verdict === 'http2') {
        http2(socket);
        return;
      }
      http1.call(server, socket);
      socket.resume();
    };
    socket.on('data', onData);
    socket.once('end', ended);
    socket.once('close', stopWatching);
    // A reset before the first bytes must not become an unhandled 'error'; the owner handles later ones.
    socket.on('error', ignoreError);
  });

  return {
    destroyUndecided: () => {
      for (const socket of pending) socket.destroy();
    },
  };
}

function ignoreError(): void {}
