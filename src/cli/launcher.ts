/**
 * Applies the sidecar's node flags (runtimeFlags.ts) however it is started: `genai-sidecar run`
 * from npm link or npx, `node dist/src/cli/main.js run`, or the image (whose entrypoint already
 * passes them, so nothing happens there). V8 reads the young generation's size only when the
 * heap is set up, so setting flags from inside the process is too late for it
 * (`v8.setFlagsFromString('--max-semi-space-size=2')` left the new space at 32 MiB): `run`
 * without them starts itself again once, with them, and stays as a small supervisor that passes
 * signals on and exits as the sidecar did.
 *
 * This module loads nothing but node:child_process, so a relaunch costs the parent no more than
 * a bare node process.
 */
import { spawn } from 'node:child_process';
import { RUNTIME_NODE_FLAGS } from './runtimeFlags';

/** Set in the relaunched process: never relaunch twice, whatever its flags. */
export const RELAUNCHED_ENV = 'GENAI_SIDECAR_RELAUNCHED';
/** Commands that run the proxy; the others (inject, help) end at once and need no tuning. */
const LONG_RUNNING = new Set(['run']);
/** What a terminal, `kill` or an orchestrator sends; each goes on to the sidecar. */
const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT'];

const flagName = (flag: string): string => flag.split('=')[0] ?? flag;

/**
 * The runtime flags node was not started with. A flag the user gave with another value (in the
 * command or in NODE_OPTIONS) is theirs to choose and counts as present.
 */
export function missingRuntimeFlags(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = new Set([...execArgv, ...(nodeOptions ?? '').split(/\s+/)].filter((arg) => arg.startsWith('--')).map(flagName));
  // V8 takes --max_semi_space_size as well as --max-semi-space-size.
  const normalised = new Set([...given].map((name) => name.replace(/_/g, '-')));
  return RUNTIME_NODE_FLAGS.filter((flag) => !normalised.has(flagName(flag)));
}

/** The flags to relaunch with, or undefined to go on in this process. */
export function relaunchFlags(args: readonly string[], execArgv: readonly string[], env: NodeJS.ProcessEnv): string[] | undefined {
  if (env[RELAUNCHED_ENV] !== undefined || !LONG_RUNNING.has(args[0] ?? '')) return undefined;
  const missing = missingRuntimeFlags(execArgv, env.NODE_OPTIONS);
  return missing.length === 0 ? undefined : missing;
}

/**
 * Starts the sidecar again with `flags` and resolves never: this process exits with the
 * sidecar's exit code (or dies of its signal). Resolves false when the child could not be
 * started at all, so the caller runs the sidecar in this process instead.
 */
export function relaunch(flags: readonly string[], warn: (message: string) => void): Promise<false> {
  const script = process.argv[1] as string;
  // The IPC channel is how the sidecar learns that this process died, even of SIGKILL.
  const child = spawn(process.execPath, [...process.execArgv, ...flags, script, ...process.argv.slice(2)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [RELAUNCHED_ENV]: '1' },
  });
  const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
  return new Promise((resolve) => {
    child.once('error', (error) => {
      for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
      warn(`genai-sidecar: could not start itself with ${flags.join(' ')} (${error.message}); running without them\n`);
      resolve(false);
    });
    child.once('exit', (code, signal) => {
      for (const forwarded of FORWARDED_SIGNALS) process.off(forwarded, forward);
      if (signal !== null) process.kill(process.pid, signal);
      else process.exit(code ?? 1);
    });
  });
}
