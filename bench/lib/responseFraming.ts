/**
 * Where one HTTP/1.1 response ends in the bytes a keep-alive connection has received so far,
 * for the per-request timed client (../clients/timedLoop.ts). Pure. Only what the benchmark's
 * servers send is understood: a status line, headers and a Content-Length body; anything else
 * (chunked, no length) is an error, so a figure is never taken from a misread answer.
 */

export class ResponseFramingError extends Error {
  override readonly name = 'ResponseFramingError';
  readonly code = 'BENCH_RESPONSE_UNFRAMED';
}

export interface FramedResponse {
  status: number;
  /** Offset just past the response's last byte. */
  end: number;
}

const HEAD_END = Buffer.from('\r\n\r\n');
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})/;
const CONTENT_LENGTH = /^content-length:[ \t]*(\d+)[ \t]*$/im;
/** Heads larger than this are not the benchmark's servers' answers. */
const MAX_HEAD_BYTES = 64 * 1024;

/** The first complete response in `received`, or undefined while more bytes are needed. */
export function completeResponse(received: Buffer): FramedResponse | undefined {
  const headEnd = received.indexOf(HEAD_END);
  if (headEnd === -1) {
    if (received.length > MAX_HEAD_BYTES) throw new ResponseFramingError(`no end of response head within ${MAX_HEAD_BYTES} bytes`);
    return undefined;
  }
  const head = received.toString('latin1', 0, headEnd);
  const status = STATUS_LINE.exec(head);
  if (status === null) throw new ResponseFramingError(`not an HTTP/1.x status line: ${JSON.stringify(head.slice(0, 40))}`);
  const length = CONTENT_LENGTH.exec(head);
  if (length === null) throw new ResponseFramingError('a response without Content-Length (chunked or close-delimited) cannot be timed here');
  const end = headEnd + HEAD_END.length + Number(length[1]);
  return received.length >= end ? { status: Number(status[1]), end } : undefined;
}
