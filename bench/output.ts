/**
 * Writing a run's results: `<prefix>-<timestamp>.{json,md}` plus `<latest>.{json,md}` in the
 * results folder (gitignored).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export function timestamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

export function writeResults(dir: string, prefix: string, latest: string, json: unknown, markdown: string, date = new Date()): string[] {
  mkdirSync(dir, { recursive: true });
  const stamp = timestamp(date);
  const text = `${JSON.stringify(json, null, 2)}\n`;
  const files = [
    [path.join(dir, `${prefix}-${stamp}.json`), text],
    [path.join(dir, `${prefix}-${stamp}.md`), markdown],
    [path.join(dir, `${latest}.json`), text],
    [path.join(dir, `${latest}.md`), markdown],
  ] as const;
  for (const [file, content] of files) writeFileSync(file, content);
  return files.map(([file]) => file);
}
