/**
 * A gzip stream cut where a test wants it: `texts` compressed as ONE stream, in pieces that each
 * end at a flush point, so the first k pieces decode to exactly the first k texts (a stream cut
 * there is a valid, unfinished gzip stream). The last piece is the gzip trailer.
 */
import { once } from 'node:events';
import zlib from 'node:zlib';

export async function gzipPieces(texts: ReadonlyArray<string | Buffer>): Promise<Buffer[]> {
  const gzip = zlib.createGzip();
  let current: Buffer[] = [];
  gzip.on('data', (bytes: Buffer) => current.push(bytes));
  const pieces: Buffer[] = [];
  for (const text of texts) {
    gzip.write(text);
    await new Promise<void>((resolve) => gzip.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
    pieces.push(Buffer.concat(current));
    current = [];
  }
  gzip.end();
  await once(gzip, 'end');
  pieces.push(Buffer.concat(current));
  return pieces;
}
