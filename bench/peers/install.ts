/**
 * Installing the peers through scripts/peers-env.sh (idempotent, at once when done) and reading
 * what it says per peer. A peer that failed to install is reported with the script's reason;
 * nothing here throws for it.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

export type InstallOutcome = { installed: true; entry: string } | { installed: false; reason: string };

/** `<peer>\tok\t<entry>` or `<peer>\tfailed\t<reason>` per line, as the script prints them. Pure. */
export function parseInstallOutput(stdout: string): Map<string, InstallOutcome> {
  const outcomes = new Map<string, InstallOutcome>();
  for (const line of stdout.split('\n')) {
    const [name, status, ...rest] = line.split('\t');
    const detail = rest.join('\t').trim();
    if (!name || detail === '') continue;
    if (status === 'ok') outcomes.set(name, { installed: true, entry: detail });
    else if (status === 'failed') outcomes.set(name, { installed: false, reason: detail });
  }
  return outcomes;
}

/** The pip install takes a minute or two the first time; the rest is seconds. */
const INSTALL_TIMEOUT_MS = 15 * 60_000;

/** Runs the script for `names`; every name gets an outcome, the script's or why it said none. */
export function installPeers(root: string, names: readonly string[]): Map<string, InstallOutcome> {
  const script = path.join(root, 'scripts/peers-env.sh');
  const run = spawnSync('bash', [script, ...names], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: INSTALL_TIMEOUT_MS });
  const outcomes = parseInstallOutput(run.stdout ?? '');
  const why = run.error ? `scripts/peers-env.sh did not run: ${run.error.message}` : `scripts/peers-env.sh said nothing about it (exit ${run.status ?? run.signal})`;
  for (const name of names) if (!outcomes.has(name)) outcomes.set(name, { installed: false, reason: why });
  return outcomes;
}
