/**
 * node:http2's compatibility request and response, adjusted where the proxy handler (written
 * against node:http) would otherwise act differently on HTTP/2. h2c.ts hands these classes to
 * http2.createServer (its documented Http2ServerRequest / Http2ServerResponse options), so every
 * HTTP/2 request reaches the handler as one of them.
 */
import type http from 'node:http';
import http2 from 'node:http2';
import type { ReadableOptions } from 'node:stream';
import { http2ResponseHeaders } from './headers';

const { NGHTTP2_NO_ERROR, NGHTTP2_CANCEL } = http2.constants;

export class ProxyHttp2Request extends http2.Http2ServerRequest {
  constructor(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, options: ReadableOptions, rawHeaders: readonly string[]) {
    // Pseudo-headers are framing, not fields: without them rawHeaders lists what an HTTP/1.1
    // request's would, so the field limit counts the same fields and none of them is forwarded.
    // `method`, `url` and `headers` still read them.
    super(stream, headers, options, withoutPseudoHeaders(rawHeaders));
  }

  /**
   * As IncomingMessage: an error given to destroy() (see requestTimedOut) reaches listeners (the
   * body reader, undici); without one it would be thrown. A client that resets its stream needs
   * nothing here: the response closes unfinished first, which cancels the call and the upstream leg.
   */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    callback(this.listenerCount('error') > 0 ? error : null);
  }
}

export class ProxyHttp2Response extends http2.Http2ServerResponse<ProxyHttp2Request> {
  /** The sidecar answered this stream itself (request timeout): the proxy's own answer is dropped. */
  private answeredBySidecar = false;

  static {
    // Writable's typings declare these two fields, so they are defined here rather than as accessors.
    Object.defineProperties(ProxyHttp2Response.prototype, {
      // node:http's response has it (the upstream leg reads it to tell a client that left); node:http2's has none.
      destroyed: {
        configurable: true,
        get(this: ProxyHttp2Response): boolean {
          return this.answeredBySidecar || this.stream.destroyed;
        },
      },
      // node:http2's reads the stream's, which also finishes when a client's RST_STREAM closes it:
      // a cancelled call would pass for a completed one. As on node:http, it needs end() first.
      writableFinished: {
        configurable: true,
        get(this: ProxyHttp2Response): boolean {
          return this.writableEnded && this.stream.writableFinished;
        },
      },
    });
  }

  /**
   * Takes node:http's forms (a reason phrase, a flat [name, value, ...] list) and relays the head
   * minus the connection-specific fields HTTP/2 forbids; HTTP/2 has no reason phrase.
   */
  override writeHead(
    statusCode: number,
    messageOrHeaders?: string | http.OutgoingHttpHeaders | readonly string[],
    headers?: http.OutgoingHttpHeaders | readonly string[],
  ): this {
    if (this.answeredBySidecar) return this;
    const given = typeof messageOrHeaders === 'string' ? headers : messageOrHeaders;
    try {
      // node:http2 takes a flat list at run time; its typings only name the object form.
      super.writeHead(statusCode, given === undefined ? undefined : (http2ResponseHeaders(given) as http.OutgoingHttpHeaders));
    } catch (error) {
      // A head HTTP/2 cannot carry (a status outside 100-599, a repeated single-value field from a
      // broken upstream): the stream is reset instead of the error escaping into the upstream leg.
      this.destroy(error instanceof Error ? error : new Error(String(error)));
    }
    return this;
  }

  /**
   * A complete answer only leaves the rest of the request unwanted: RST_STREAM(NO_ERROR) after it
   * (RFC 9113 §8.1). An unfinished one is reset with INTERNAL_ERROR: the NO_ERROR reset a bare
   * destroy() sends ends a Node client's body as if it were complete, hiding the cut.
   */
  override destroy(error?: Error): this {
    if (this.writableEnded) this.stream.close(NGHTTP2_NO_ERROR);
    else super.destroy(error ?? new Error('answer cut'));
    return this;
  }

  /**
   * --request-timeout ran out before the client finished sending its request (see h2c.ts). As on
   * HTTP/1.1, where the 408 goes straight to the socket: a 408 when nothing was answered yet, and
   * the proxy sees its client gone (its request fails, its response reads as destroyed).
   */
  requestTimedOut(): void {
    const stream = this.stream;
    if (this.writableEnded) {
      stream.close(NGHTTP2_NO_ERROR);
      return;
    }
    if (this.headersSent) {
      stream.close(NGHTTP2_CANCEL);
      return;
    }
    this.answeredBySidecar = true;
    this.req.destroy(Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }));
    super.writeHead(408, { 'content-length': '0' });
    super.end();
    // The client may still be sending its body: it is told to stop once the 408 is out.
    stream.close(NGHTTP2_NO_ERROR);
  }
}

function withoutPseudoHeaders(rawHeaders: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    if (!name.startsWith(':')) out.push(name, rawHeaders[i + 1] ?? '');
  }
  return out;
}

/** HTTP/2 frames a request body itself: one follows unless END_STREAM came with the headers, declared length or not. */
export function http2RequestHasBody(req: http.IncomingMessage): boolean {
  return req instanceof ProxyHttp2Request ? !req.stream.endAfterHeaders : true;
}

/**
 * The proxy handler's view of an HTTP/2 exchange. What it uses of node:http's request and response
 * (checked at compile time below where the typings allow) behaves the same on these classes:
 * url, method, headers, rawHeaders, httpVersionMajor, the Readable body with pause/unshift; on the
 * response writeHead (both forms, above), write's backpressure and 'drain', end, destroy,
 * destroyed, headersSent, writableFinished, req and 'close' once the stream is done.
 */
export function asNodeHttp(req: ProxyHttp2Request, res: ProxyHttp2Response): { req: http.IncomingMessage; res: http.ServerResponse } {
  return { req: req as unknown as http.IncomingMessage, res: res as unknown as http.ServerResponse };
}

// Compile-time checks only: these members have node:http's types on the HTTP/2 classes.
void (null as unknown as ProxyHttp2Request satisfies Pick<http.IncomingMessage, 'url' | 'method' | 'headers' | 'rawHeaders' | 'httpVersionMajor' | 'unshift'>);
void (null as unknown as ProxyHttp2Response satisfies Pick<http.ServerResponse, 'write' | 'destroyed' | 'headersSent' | 'writableFinished' | 'writableEnded'>);
