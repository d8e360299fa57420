/** The release a build script pins (its `NAME_VERSION=` line), so each version lives in one place. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../bench/tools';

export function pinnedVersion(script: string, variable: string): string {
  const version = readFileSync(path.join(repoRoot(), script), 'utf8').match(new RegExp(`^${variable}=(\\S+)$`, 'm'))?.[1];
  if (!version) throw new Error(`no ${variable}= line in ${script}`);
  return version;
}
