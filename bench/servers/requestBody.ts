/**
 * Reading a request body in the fakes: the first `maxBytes` are kept (a fake only parses the
 * model and stream options near the start), the rest is read and dropped, so a large upload
 * costs no memory.
 */
import type http from 'node:http';

/** Calls `handle` with the body's first `maxBytes` as text once the whole body has arrived. */
export function whenBodyRead(req: http.IncomingMessage, maxBytes: number, handle: (body: string) => void): void {
  const parts: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= maxBytes) parts.push(chunk);
  });
  req.on('end', () => handle(Buffer.concat(parts).toString('utf8')));
}
