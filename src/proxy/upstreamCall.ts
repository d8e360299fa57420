/**
 * The upstream leg of one call, as an undici dispatch handler: relays the provider's answer to
 * the client as it arrives (backpressure both ways), feeds the ResponseObserver on the side, and
 * ends the Exchange exactly once however the leg ends. When the sidecar itself has to end a call
 * before any response byte went out, the client gets a 502/504 in the route API's error shape.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { framingFor, ResponseObserver } from '../observe/responseObserver';
import { ERROR_TYPE } from '../telemetry/names';
import type { Exchange, ExchangeServices } from './exchange';
import { clientResponseHeaders, rawHeaderStrings } from './headers';
import { notSignedError, upstreamErrorBody, type NotSignedReason } from './upstreamErrors';
import { classifyUpstreamError } from './upstreamPool';

export interface UpstreamCallOptions {
  maxBodyBytes: number;
  services: ExchangeServices;
}

const CLIENT_GONE = 'client went away';

export class UpstreamCall implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private observer: ResponseObserver | undefined;
  private clientGone = false;
  /** The client's answer is complete; what the upstream still reports about this call is ignored. */
  private answered = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly exchange: Exchange,
    /** Path after the route prefix, named (without query) in the sidecar's own error answers. */
    private readonly rest: string,
    private readonly options: UpstreamCallOptions,
  ) {
    res.once('close', () => {
      if (res.writableFinished) return;
      this.clientGone = true;
      exchange.finish({ kind: 'cancelled' });
      this.controller?.abort(new Error(CLIENT_GONE));
    });
  }

  /** The client is gone: nothing more to send upstream. */
  clientLeft(): boolean {
    return this.clientGone || this.res.destroyed;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.clientGone) controller.abort(new Error(CLIENT_GONE));
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    // Informational answers (103 Early Hints) are the upstream connection's business, not the client's.
    if (status < 200) return;
    const res = this.res;
    const exchange = this.exchange;
    const framing = framingFor(status, firstValue(headers['content-type']));
    const bodiless = hasNoBody(status, res.req?.method);
    const rewriting = !bodiless && exchange.hideInjectedUsage && framing === 'sse';
    // RFC 9110 §8.6: a 204 carries no Content-Length (a 304 or an answer to HEAD may: it describes the
    // representation, and the client reads no body after it either way).
    res.writeHead(status, statusMessage || undefined, clientResponseHeaders(rawHeaderStrings(controller.rawHeaders), rewriting || status === 204));
    exchange.responseStarted(status, headers);
    this.observer = new ResponseObserver({
      dialect: exchange.route.provider.dialect,
      framing,
      hideInjectedUsage: rewriting,
      contentEncoding: firstValue(headers['content-encoding']),
      maxBodyBytes: this.options.maxBodyBytes,
      timeJsonChunks: exchange.facts?.streaming === true && status < 400,
      responseHeaders: headers,
      onTelemetryError: this.options.services.telemetryError,
    });
    exchange.attachObserver(this.observer);
    // The answer is complete with its head (RFC 9112 §6.3). Body bytes a hostile or broken upstream
    // sends anyway are not the client's: undici either skips them or fails the call on them (a
    // Content-Length it never receives), which used to cut the client's connection with nothing.
    // The upstream connection is undici's to discard; a well-behaved one stays in the pool.
    if (bodiless) this.onResponseEnd();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const observer = this.observer;
    if (!observer || this.answered) return;
    const out = observer.relay(chunk);
    if (out.length > 0 && !this.res.write(out)) {
      controller.pause();
      this.res.once('drain', () => controller.resume());
    }
    // The bytes are on their way to the client; reading what they say comes after, so no chunk waits for it.
    observer.catchUp();
  }

  onResponseEnd(): void {
    if (this.answered) return;
    this.answered = true;
    const tail = this.observer?.endOfBody() ?? '';
    this.res.end(tail.length > 0 ? tail : undefined);
    this.exchange.finish({ kind: 'completed' });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.answered) return;
    if (this.clientLeft()) {
      // Our own abort, or the upstream failed while the client was leaving anyway.
      this.exchange.finish({ kind: 'cancelled' });
      return;
    }
    const { timedOut, code } = classifyUpstreamError(error);
    this.exchange.finish({ kind: 'upstream_failed', errorType: timedOut ? ERROR_TYPE.timeout : ERROR_TYPE.connectionError });
    const res = this.res;
    if (res.headersSent) {
      // The provider broke the answer midway: the client sees the same bytes and the same cut a
      // direct call would, including a half event held back for rewriting.
      const held = this.observer?.releaseHeldBack() ?? '';
      if (held.length > 0) res.write(held, () => res.destroy());
      else res.destroy();
      return;
    }
    const status = timedOut ? 504 : 502;
    const body = JSON.stringify(upstreamErrorBody(this.exchange.route, status, code, pathOnly(this.rest)));
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  /**
   * The request was not sent: its route must sign it and could not. Answered like the sidecar's
   * other own errors (the route API's shape), and recorded with error.type request_not_signed.
   */
  notSigned(reason: NotSignedReason): void {
    if (this.answered || this.clientLeft()) return;
    this.answered = true;
    this.exchange.finish({ kind: 'upstream_failed', errorType: ERROR_TYPE.notSigned });
    const { status, body } = notSignedError(this.exchange.route, reason, pathOnly(this.rest));
    const text = JSON.stringify(body);
    this.res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    this.res.end(text);
  }
}

/** RFC 9112 §6.3: answers to HEAD, 1xx, 204 and 304 end with their head, whatever their fields say. */
function hasNoBody(status: number, method: string | undefined): boolean {
  return method === 'HEAD' || status === 204 || status === 304 || status < 200;
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function pathOnly(rest: string): string {
  const query = rest.indexOf('?');
  return query === -1 ? rest : rest.slice(0, query);
}
