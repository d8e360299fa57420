/**
 * Loads the user price file given with `--prices <file>` (once, at startup). Format: see ./priceFile.ts.
 */
import * as fs from 'node:fs';

import { parsePriceFile, PriceFileError, type PriceOverride } from './priceFile';

/**
 * Read and validate the price file. No path = no overrides (built-in prices only).
 * @throws PriceFileError with a one-line message naming the file, for read and validation problems alike.
 */
export function loadPriceOverrides(path: string | undefined): PriceOverride[] {
  if (path === undefined) return [];
  if (path.trim() === '') throw new PriceFileError('read_failed', '(empty path)', 'the --prices path is empty');

  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (err) {
    throw new PriceFileError('read_failed', path, `cannot read price file: ${describeReadError(err)}`);
  }
  return parsePriceFile(text, path);
}

function describeReadError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory, not a file';
    default: {
      const message = err instanceof Error ? err.message : String(err);
      return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message;
    }
  }
}
