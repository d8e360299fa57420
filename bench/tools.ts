/**
 * Locating the repository, the built sidecar and the benchmark's tools (wrk, nginx from
 * Debian, fetched into .cache by scripts/fetch-bench-tools.sh).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface BenchTools {
  wrk: string;
  nginx: string;
  wrkVersion: string;
  nginxVersion: string;
}

/** The repository root: the nearest folder up from here whose package.json is genai-sidecar's. */
export function repoRoot(): string {
  let dir = __dirname;
  for (let depth = 0; depth < 6; depth += 1) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        if ((JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'genai-sidecar') return dir;
      } catch {
        // not ours; keep looking
      }
    }
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find the genai-sidecar repository above ${__dirname}`);
}

/** dist/src/cli/main.js, which must have been built (`npx tsc -p tsconfig.json`). */
export function sidecarEntry(root: string): string {
  const entry = path.join(root, 'dist/src/cli/main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: build the sidecar first (make build, or npx tsc -p tsconfig.json)`);
  return entry;
}

export function fetchBenchTools(root: string): BenchTools {
  const script = path.join(root, 'scripts/fetch-bench-tools.sh');
  let output: string;
  try {
    output = execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 300_000 });
  } catch (error) {
    throw new Error(`${script} failed (see its message above): ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
  const paths = output.trim().split('\n');
  const wrk = paths.find((line) => line.endsWith('/wrk'));
  const nginx = paths.find((line) => line.endsWith('/nginx'));
  if (!wrk || !nginx) throw new Error(`${script} did not print the wrk and nginx paths (printed: ${output.trim()})`);
  return { wrk, nginx, wrkVersion: versionOf(wrk, ['--version']), nginxVersion: versionOf(nginx, ['-v']) };
}

function versionOf(binary: string, args: string[]): string {
  // `wrk --version` exits 1 after printing; nginx prints its version on stderr: take either.
  const result = spawnSync(binary, args, { encoding: 'utf8', timeout: 5_000 });
  return `${result.stdout ?? ''}${result.stderr ?? ''}`.split('\n')[0]?.trim() ?? '';
}
