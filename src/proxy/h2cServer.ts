/**
 * The node:http2 side of h2c.ts, loaded when the first HTTP/2 connection arrives (node:http2 and
 * its server cost ~9 ms of every start-up otherwise). See h2c.ts for how HTTP/1.1's bounds map.
 */
import http from 'node:http';
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import { MAX_CONCURRENT_STREAMS, type H2cSessions } from './h2c';
import type { RefusalLog } from './refusalLog';
import { asNodeHttp, ProxyHttp2Request, ProxyHttp2Response } from './h2compat';
import { MAX_HEADER_FIELDS } from './serverGuards';


/** Pseudo-headers (4 on a request) and cookie crumbs counted by nghttp2 on top of the fields the guard counts. */
const HEADER_PAIRS_MARGIN = 24;
/** HPACK counts 32 bytes per field on top of its name and value (RFC 9113 §6.5.2). */
const HPACK_FIELD_OVERHEAD = 32;

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;


type ProxyHttp2Options = http2.ServerOptions<typeof http.IncomingMessage, typeof http.ServerResponse, typeof ProxyHttp2Request, typeof ProxyHttp2Response>;

function http2ServerOptions(): ProxyHttp2Options {
  const maxHeaderListPairs = MAX_HEADER_FIELDS + HEADER_PAIRS_MARGIN;
  return {
    Http2ServerRequest: ProxyHttp2Request,
    Http2ServerResponse: ProxyHttp2Response,
    // Room for the guard's own 431 just past the field limit; nghttp2 resets the stream beyond.
    maxHeaderListPairs,
    settings: {
      maxConcurrentStreams: MAX_CONCURRENT_STREAMS,
      // The HTTP/1.1 head size limit (16 KiB by default), plus HPACK's per-field accounting.
      maxHeaderListSize: http.maxHeaderSize + HPACK_FIELD_OVERHEAD * maxHeaderListPairs,
    },
  };
}

/** HTTP/2 sessions of the proxy port, served with the guarded handler. */
export interface H2cServer extends H2cSessions {
  /** A connection whose first bytes were the HTTP/2 preface (put back on it). */
  accept(socket: Socket): void;
}

/**
 * Serves HTTP/2 prior-knowledge connections accepted by `server` with `handler`; the server's
 * request and keep-alive timeouts apply (see proxyServerOptions).
 */
export function createH2cServer(server: http.Server, handler: Handler, log: RefusalLog): H2cServer {
  const requestTimeoutMs = server.requestTimeout;
  const h2 = http2.createServer(http2ServerOptions(), (req, res) => {
    limitRequestTime(req, res, requestTimeoutMs, log);
    const view = asNodeHttp(req, res);
    handler(view.req, view.res);
  });
  const sessions = new Set<http2.ServerHttp2Session>();

  h2.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    closeWhenIdle(session, server.headersTimeout, server.keepAliveTimeout, log);
  });
  return {
    accept: (socket) => {
      // node:http accepts sockets half-open (it may answer after the client's FIN); a node:http2
      // server's are not, and a session never notices a client that closed its side: the socket and
      // the streams on it (their upstream calls included) would stay open for good.
      socket.allowHalfOpen = false;
      h2.emit('connection', socket);
    },
    close: () => {
      for (const session of sessions) session.close();
    },
    destroy: () => {
      for (const session of sessions) session.destroy();
    },
  };
}

/**
 * HTTP/1.1's connection deadlines for a session: its first stream within the head timeout (as a
 * new HTTP/1.1 connection must send its request head), then closed once it has had no open stream
 * for the keep-alive timeout. PINGs and SETTINGS do not keep a session without streams alive.
 */
function closeWhenIdle(session: http2.ServerHttp2Session, firstStreamMs: number, idleMs: number, log: RefusalLog): void {
  let open = 0;
  let timer: NodeJS.Timeout | undefined;
  const arm = (ms: number, onExpiry: () => void): void => {
    if (ms <= 0) return;
    timer = setTimeout(() => {
      onExpiry();
      session.close();
    }, ms);
    timer.unref();
  };
  arm(firstStreamMs, () => log.note('refused:408', 'request refused', { status: 408, reason: 'ERR_HTTP_REQUEST_TIMEOUT', protocol: 'h2c' }));
  session.on('stream', (stream: http2.ServerHttp2Stream) => {
    open += 1;
    clearTimeout(timer);
    stream.once('close', () => {
      open -= 1;
      if (open === 0 && !session.closed) arm(idleMs, () => undefined);
    });
  });
  session.once('close', () => clearTimeout(timer));
}

/** A stream must have sent its whole request (END_STREAM, body read) within --request-timeout. */
function limitRequestTime(req: ProxyHttp2Request, res: ProxyHttp2Response, ms: number, log: RefusalLog): void {
  const stream = req.stream;
  if (ms <= 0 || stream.endAfterHeaders) return;
  const timer = setTimeout(() => {
    log.note('refused:408', 'request refused', { status: 408, reason: 'ERR_HTTP_REQUEST_TIMEOUT', protocol: 'h2c' });
    res.requestTimedOut();
  }, ms);
  timer.unref();
  const done = (): void => clearTimeout(timer);
  stream.once('end', done);
  stream.once('close', done);
}
