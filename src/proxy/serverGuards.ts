/**
 * What the proxy listener does before (and around) the proxy app, against clients that misuse
 * HTTP/1.1: bounded time to send a request, one request at a time per connection,
 * no more header fields than are forwarded faithfully, no transfer coding but chunked, a share
 * of the shared body budget per request, and a log line (without request bytes) for every refusal.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { BodyBudget } from './bodyBudget';
import type { RefusalLog } from './refusalLog';
import { assignBodyLease, mayCarryBody } from './requestBody';

/**
 * Header fields a request may carry. Node keeps at most 1,000 in `req.headers` by default, and
 * the proxy decides framing from there while it forwards `rawHeaders`: a request past that lost
 * its Content-Length upstream. The server keeps every field (maxHeadersCount 0,
 * the 16 KiB header size limit still applies) and requests past this count get 431: Node's own
 * default, so nothing that worked before is refused (SDK calls carry 10 to 30 fields; Envoy's
 * default cap is 100, nginx has none beyond the header size).
 */
export const MAX_HEADER_FIELDS = 1000;

/**
 * Pipelined requests that may wait behind the one being served on a connection. They are served
 * one at a time, as nginx does; a client that queues more is flooding (2,000 pipelined requests
 * opened 1,024 upstream connections before this) and its connection is closed.
 */
export const MAX_PIPELINED_WAITING = 32;

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** Options of the proxy's http.Server for a given --request-timeout. */
export function proxyServerOptions(requestTimeoutMs: number): http.ServerOptions {
  return {
    // Idle keep-alive connections are not bound by the request timeout: an SDK reuses them.
    keepAliveTimeout: 65_000,
    // Node requires headersTimeout <= requestTimeout; both count from the request's first byte
    // (for a new connection, from the connection).
    headersTimeout: requestTimeoutMs,
    requestTimeout: requestTimeoutMs,
    // Node checks the two deadlines on this period (30 s by default), so a short timeout needs a
    // shorter period to be kept to within a quarter.
    connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(requestTimeoutMs / 4))),
  };
}

interface ConnectionState {
  serving: boolean;
  waiting: Array<{ req: http.IncomingMessage; res: http.ServerResponse }>;
  flooded: boolean;
}

export interface ProxyGuardOptions {
  budget: BodyBudget;
  log: RefusalLog;
}

/** The proxy app behind the per-request guards. */
export function guardProxyHandler(handler: Handler, options: ProxyGuardOptions): Handler {
  const connections = new WeakMap<object, ConnectionState>();

  const serve = (state: ConnectionState, req: http.IncomingMessage, res: http.ServerResponse): void => {
    state.serving = true;
    const lease = mayCarryBody(req.method) ? options.budget.lease() : undefined;
    res.once('close', () => {
      // The buffered body (if any) lives until the upstream leg is over, which ends with the response.
      lease?.release();
      next(state, req.socket);
    });
    if (req.rawHeaders.length > MAX_HEADER_FIELDS * 2) {
      options.log.note('refused:431', 'request refused', { status: 431, reason: 'too_many_header_fields', fields: req.rawHeaders.length / 2 });
      refuse(res, 431, 'too_many_header_fields', `genai-sidecar: a request may carry at most ${MAX_HEADER_FIELDS} header fields`);
      return;
    }
    // Most requests carry no Transfer-Encoding at all: skip the scan of every raw field for them.
    if (req.headers['transfer-encoding'] !== undefined && !onlyChunked(req.rawHeaders)) {
      // The sidecar cannot undo a coding such as gzip, and forwarding the body without it (as it
      // did) changes what the upstream receives; nginx answers 501 too.
      options.log.note('refused:501', 'request refused', { status: 501, reason: 'unsupported_transfer_coding' });
      refuse(res, 501, 'unsupported_transfer_coding', 'genai-sidecar: a request body may only be sent with Transfer-Encoding: chunked');
      return;
    }
    if (lease !== undefined) assignBodyLease(req, lease);
    handler(req, res);
  };

  const next = (state: ConnectionState, socket: Duplex | null): void => {
    const waiting = state.waiting.shift();
    if (waiting === undefined || socket === null || socket.destroyed) {
      state.waiting.length = 0;
      state.serving = false;
      return;
    }
    serve(state, waiting.req, waiting.res);
  };

  return (req, res) => {
    // HTTP/2 streams are concurrent by design, bounded per connection by the session's
    // maxConcurrentStreams (see h2c.ts): each is served at once, with every other check below.
    if (req.httpVersionMajor === 2) return serve({ serving: false, waiting: [], flooded: false }, req, res);
    const socket = req.socket;
    let state = connections.get(socket);
    if (state === undefined) {
      state = { serving: false, waiting: [], flooded: false };
      connections.set(socket, state);
    }
    // Node parses the rest of a pipelined burst after the socket is closed; ignore it.
    if (state.flooded) return;
    if (!state.serving) return serve(state, req, res);
    if (state.waiting.length >= MAX_PIPELINED_WAITING) {
      state.flooded = true;
      state.waiting.length = 0;
      options.log.note('refused:pipeline', 'connection closed: too many pipelined requests', { waiting: MAX_PIPELINED_WAITING });
      socket.destroy();
      return;
    }
    state.waiting.push({ req, res });
  };
}

/**
 * True when the request has no Transfer-Encoding, or exactly one coding, `chunked` (over all its
 * Transfer-Encoding fields). Node's parser only checks that `chunked` comes last and then drops the
 * codings before it, so `gzip, chunked` used to reach the upstream as a plain chunked body.
 */
function onlyChunked(rawHeaders: readonly string[]): boolean {
  let codings = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() !== 'transfer-encoding') continue;
    for (const token of (rawHeaders[i + 1] ?? '').split(',')) {
      const coding = token.trim().toLowerCase();
      if (coding === '') continue;
      if (coding !== 'chunked') return false;
      codings += 1;
    }
  }
  return codings <= 1;
}

/** HTTP status Node's parser errors map to (Node's own mapping); undefined: the client just left. */
function statusForClientError(code: string | undefined): number | undefined {
  switch (code) {
    case 'ECONNRESET':
    case 'EPIPE':
      return undefined;
    case 'HPE_HEADER_OVERFLOW':
      return 431;
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return 413;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 408;
    default:
      return 400;
  }
}

/** The response in flight on a server socket, if any (node:http keeps it there; not public API). */
function inFlightResponse(socket: Duplex): http.ServerResponse | undefined {
  return (socket as Duplex & { _httpMessage?: http.ServerResponse | null })._httpMessage ?? undefined;
}

/**
 * Answers what Node's parser and deadlines refuse (malformed requests, oversized headers, request
 * timeouts) as Node would by default, plus a log line. Node's default handler logs nothing, and
 * the error it hands over carries the raw request bytes, which are never logged.
 */
export function handleClientErrors(server: http.Server, log: RefusalLog): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const status = statusForClientError(error.code);
    // Only when no answer has started on this connection: a status line in the middle of another
    // answer would corrupt it.
    const canAnswer = status !== undefined && socket.writable && inFlightResponse(socket)?.headersSent !== true;
    if (status !== undefined && canAnswer) {
      log.note(`refused:${status}`, 'request refused', { status, reason: error.code ?? 'parse_error' });
      socket.write(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    }
    socket.destroy();
  });
  server.on('drop', () => log.note('refused:connection_limit', 'connection refused: --max-connections reached', { maxConnections: server.maxConnections }));
}

function refuse(res: http.ServerResponse, status: number, code: string, message: string): void {
  const text = JSON.stringify({ type: 'error', error: { type: 'genai_sidecar_bad_request', code, message } });
  // The unread body stays on the wire: the connection closes after this answer.
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), connection: 'close' });
  res.end(text);
}
