/**
 * The sidecar started without its node flags, as `node dist/src/cli/main.js run` or the
 * `genai-sidecar` command does: it starts itself again with them (src/cli/launcher.ts), and the
 * pair behaves as one process for signals, exit codes and output.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { RUNTIME_NODE_FLAGS } from '../../src/cli/runtimeFlags';
import { cleanEnv, REPO_ROOT, startCli, type CliProcess } from '../helpers/cliProcess';

jest.setTimeout(60_000);

const RUN = ['run', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--metrics-exporter', 'prometheus'];

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function gone(pid: number, withinMs: number): Promise<boolean> {
  const until = Date.now() + withinMs;
  while (Date.now() < until) {
    if (!alive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !alive(pid);
}

/** The ready line's pid and node flags, and what the kernel says that process runs with. */
async function serving(cli: CliProcess): Promise<{ pid: number; flags: string; cmdline: string[] }> {
  const ready = await cli.waitForJsonLine((line) => line.msg === 'genai-sidecar ready', 20_000);
  const pid = ready.pid as number;
  return { pid, flags: String(ready.node_flags), cmdline: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0') };
}

const started: CliProcess[] = [];
afterEach(() => {
  for (const cli of started.splice(0)) cli.kill();
});
const start = (args: readonly string[], nodeFlags: readonly string[] = [], env = cleanEnv()): CliProcess => {
  const cli = startCli(args, env, nodeFlags);
  started.push(cli);
  return cli;
};

test('`node main.js run` serves from a process with every runtime flag; SIGTERM reaches it and both exit 0', async () => {
  const cli = start(RUN);
  const sidecar = await serving(cli);
  expect(sidecar.pid).not.toBe(cli.child.pid);
  expect(sidecar.flags.split(' ')).toEqual([...RUNTIME_NODE_FLAGS]);
  for (const flag of RUNTIME_NODE_FLAGS) expect(sidecar.cmdline).toContain(flag);
  cli.child.kill('SIGTERM');
  expect(await cli.exited(30_000)).toEqual({ code: 0, signal: null });
  expect(await gone(sidecar.pid, 5_000)).toBe(true);
  // One shutdown line, from the sidecar; the launcher writes nothing of its own.
  expect(cli.stderr().split('\n').filter((line) => line.includes('"shutting down"'))).toHaveLength(1);
  expect(cli.stderr()).not.toContain('could not start itself');
});

test('Ctrl-C, which reaches both processes, shuts down once and within the grace period', async () => {
  const cli = start(RUN);
  const sidecar = await serving(cli);
  // A terminal sends SIGINT to the whole foreground group: the sidecar directly, and again from the launcher.
  process.kill(sidecar.pid, 'SIGINT');
  cli.child.kill('SIGINT');
  expect(await cli.exited(30_000)).toEqual({ code: 0, signal: null });
  expect(cli.stderr().split('\n').filter((line) => line.includes('"shutting down"'))).toHaveLength(1);
});

test('the launcher killed outright: the sidecar notices and exits on its own', async () => {
  const cli = start(RUN);
  const sidecar = await serving(cli);
  cli.child.kill('SIGKILL');
  expect(await gone(sidecar.pid, 30_000)).toBe(true);
});

test('the sidecar killed: the launcher dies of the same signal', async () => {
  const cli = start(RUN);
  const sidecar = await serving(cli);
  process.kill(sidecar.pid, 'SIGKILL');
  expect(await cli.exited(10_000)).toEqual({ code: null, signal: 'SIGKILL' });
});

test('a usage error exits 2 with one line, once', async () => {
  const cli = start(['run', '--no-such-flag']);
  expect(await cli.exited(20_000)).toEqual({ code: 2, signal: null });
  expect(cli.stderr().trim().split('\n')).toHaveLength(1);
  expect(cli.stderr()).toContain('--no-such-flag');
});

test("a flag the user gave keeps the user's value; only the others are added", async () => {
  const cli = start(RUN, ['--max-semi-space-size=8']);
  const sidecar = await serving(cli);
  expect(sidecar.pid).not.toBe(cli.child.pid);
  expect(sidecar.flags.split(' ').sort()).toEqual(['--heap-growing-percent=15', '--liftoff-only', '--max-semi-space-size=8']);
});

test('started with the flags (the image, make run), it serves from the same process', async () => {
  const cli = start(RUN, RUNTIME_NODE_FLAGS);
  expect((await serving(cli)).pid).toBe(cli.child.pid);
});

test('`genai-sidecar run` as npx runs it from the repository gets the flags too', async () => {
  const npx = spawn('npx', ['--no-install', 'genai-sidecar', ...RUN], { cwd: REPO_ROOT, env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  npx.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  try {
    const until = Date.now() + 30_000;
    while (!stderr.includes('"genai-sidecar ready"') && Date.now() < until && npx.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 50));
    const ready = JSON.parse(stderr.split('\n').find((line) => line.includes('"genai-sidecar ready"')) ?? '{}') as { pid?: number; node_flags?: string };
    expect(ready.node_flags?.split(' ')).toEqual([...RUNTIME_NODE_FLAGS]);
    process.kill(ready.pid as number, 'SIGTERM');
    const exit = await new Promise<number | null>((resolve) => npx.once('exit', (code) => resolve(code)));
    expect(exit).toBe(0);
  } finally {
    npx.kill('SIGKILL');
  }
});
