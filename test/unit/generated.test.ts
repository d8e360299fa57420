/**
 * Generated files have one generator (`make generate`, src/observability/generate.ts); every
 * committed copy must equal what it renders now.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { renderAll } from '../../src/observability/generate';

const root = path.resolve(__dirname, '../..');

test.each(Object.entries(renderAll(root)).map(([file, content]) => [file, content] as const))('%s is up to date', (file, content) => {
  let committed: string;
  try {
    committed = readFileSync(path.join(root, file), 'utf8');
  } catch {
    throw new Error(`${file} is missing: run make generate`);
  }
  if (committed !== content) throw new Error(`${file} differs from its generator: run make generate`);
});
