/**
 * Runs the BUILT command line (`node dist/src/cli/main.js`) as a real child process and lets
 * tests wait for its log lines and its exit. `make test` builds before jest runs; when the
 * build is missing this fails loudly instead of skipping.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RUNTIME_NODE_FLAGS } from '../../src/cli/runtimeFlags';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const CLI_MAIN = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

/** Throws a clear error when the binary has not been built. */
export function requireBuiltCli(): string {
  if (!fs.existsSync(CLI_MAIN)) {
    throw new Error(
      `The built CLI is missing: ${CLI_MAIN} does not exist. Build it first with \`npx tsc -p tsconfig.json\` (\`make test\` does this).`,
    );
  }
  return CLI_MAIN;
}

/**
 * A made-up AWS identity and region for the sidecars tests start, so routes that sign their
 * requests (Bedrock) can, and no real AWS identity of the machine ever reaches a test.
 */
export const TEST_AWS_ENV: Readonly<Record<string, string>> = {
  AWS_ACCESS_KEY_ID: 'AKIATESTSIDECAR00001',
  AWS_SECRET_ACCESS_KEY: 'test-only-secret-access-key',
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
};

/**
 * The environment for the child: this process's, minus anything that would change the CLI's
 * configuration (OTEL_*, GENAI_SIDECAR_*, AWS_*) or how node runs (jest's NODE_OPTIONS), plus the
 * test AWS identity and `extra`.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('OTEL_') || key.startsWith('GENAI_SIDECAR_') || key.startsWith('AWS_') || key === 'NODE_OPTIONS') continue;
    env[key] = value;
  }
  return { ...env, ...TEST_AWS_ENV, ...extra };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stderr line (parsed as JSON) that satisfies `predicate`. */
  waitForJsonLine(predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves when the process exits; rejects after `timeoutMs`. */
  exited(timeoutMs?: number): Promise<Exit>;
  /** SIGKILL if still running (test cleanup). */
  kill(): void;
}

/**
 * `nodeFlags` defaults to the runtime flags, as the image's entrypoint passes them, so the child
 * is the sidecar itself (its pid is the one to measure); pass [] to go through the relaunch
 * (src/cli/launcher.ts).
 */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = cleanEnv(), nodeFlags: readonly string[] = RUNTIME_NODE_FLAGS): CliProcess {
  const main = requireBuiltCli();
  const child = spawn(process.execPath, [...nodeFlags, main, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (text: string) => (out += text));
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (err += text));
  let exit: Exit | undefined;
  child.once('exit', (code, signal) => {
    exit = { code, signal };
  });
  // 'close' comes after 'exit' once stdout/stderr are drained, so the output is complete then.
  const closed = new Promise<Exit>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));

  const describe = (): string => `exit: ${exit ? JSON.stringify(exit) : 'still running'}\nstdout:\n${out}\nstderr:\n${err}`;

  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitForJsonLine(predicate, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const started = Date.now();
        const check = (): void => {
          for (const line of err.split('\n')) {
            if (!line.startsWith('{')) continue;
            try {
              const parsed = JSON.parse(line) as Record<string, unknown>;
              if (predicate(parsed)) return resolve(parsed);
            } catch {
              // a partial line; look again later
            }
          }
          if (exit) return reject(new Error(`the CLI exited before logging the expected line\n${describe()}`));
          if (Date.now() - started > timeoutMs) return reject(new Error(`no matching log line after ${timeoutMs}ms\n${describe()}`));
          setTimeout(check, 20);
        };
        check();
      });
    },
    exited(timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the CLI did not exit within ${timeoutMs}ms\n${describe()}`)), timeoutMs);
        void closed.then((result) => {
          clearTimeout(timer);
          resolve(result);
        });
      });
    },
    kill() {
      if (!exit) child.kill('SIGKILL');
    },
  };
}

/** Runs the CLI to completion and returns its exit and output. */
export async function runCli(args: readonly string[], env?: NodeJS.ProcessEnv, timeoutMs = 10_000): Promise<Exit & { stdout: string; stderr: string }> {
  const cli = startCli(args, env);
  try {
    const exit = await cli.exited(timeoutMs);
    return { ...exit, stdout: cli.stdout(), stderr: cli.stderr() };
  } finally {
    cli.kill();
  }
}
