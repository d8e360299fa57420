/**
 * HTTP/2 cleartext with prior knowledge on the proxy's own port: the AWS SDK's Bedrock runtime
 * client speaks HTTP/2 even to an http:// endpoint. Connections that open with the HTTP/2 preface
 * (see prefaceSniff) get a node:http2 session whose requests reach the same guarded handler as
 * HTTP/1.1 requests; everything else stays with the http.Server as before. The upstream leg is
 * unchanged (undici, HTTP/1.1).
 *
 * The HTTP/1.1 bounds, mapped:
 * - --max-connections: sockets are accepted and counted by the http.Server for both protocols.
 * - --request-timeout: a connection must send its preface (or HTTP/1.1 head) within it, a session
 *   its first stream, and each stream its whole request (else 408, or RST_STREAM(CANCEL) once an
 *   answer has started); an idle session is closed after the HTTP/1.1 keep-alive timeout.
 * - header fields: the same 431 past 1,000 fields; node:http2 resets a stream far past that.
 * - one request at a time per connection becomes at most MAX_CONCURRENT_STREAMS at a time.
 * - flow control: node:http2 only opens a client's window as the proxy reads the body, and a
 *   response write reports backpressure while the client's window is closed, so both directions
 *   pause as they do on a socket.
 */
import type http from 'node:http';
import type { H2cServer } from './h2cServer';
import { routeByPreface } from './prefaceSniff';
import type { RefusalLog } from './refusalLog';

/**
 * Streams a client may have open on one connection. HTTP/2 clients (the AWS SDK among them) put
 * all their concurrent calls to one origin on one session and queue past this (RFC 9113 §5.1.2),
 * so it must not serialise an app; 100 is the floor RFC 9113 recommends and what Node's and Go's
 * clients meet everywhere. It bounds what one connection can ask of the upstream pool and memory
 * (each stream may hold a 64 KiB receive window) to 100 times what an HTTP/1.1 connection can.
 */
export const MAX_CONCURRENT_STREAMS = 100;

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface H2cSessions {
  /** Shutdown: GOAWAY to every session (streams in flight finish, then it closes); undecided connections are dropped. */
  close(): void;
  /** Shutdown deadline: every session is torn down. */
  destroy(): void;
}

/**
 * Serves HTTP/2 prior-knowledge connections accepted by `server` with `handler`. The node:http2
 * side (h2cServer.ts) is made when the first such connection arrives.
 */
export function acceptH2c(server: http.Server, handler: Handler, log: RefusalLog): H2cSessions {
  let h2: H2cServer | undefined;
  const router = routeByPreface(server, (socket) => {
    h2 ??= (require('./h2cServer') as typeof import('./h2cServer')).createH2cServer(server, handler, log);
    h2.accept(socket);
  });
  return {
    close: () => {
      router.destroyUndecided();
      h2?.close();
    },
    destroy: () => h2?.destroy(),
  };
}
