/**
 * Every command in a shell block of README.md and docs/*.md runs as written, or, where it needs
 * what this machine lacks (a cluster, Docker) or would take too long inside `make test` (the
 * benchmark), is checked against what it names: the Makefile's targets, the CLI's own flags and
 * the files it reads. A command no rule knows fails the test, so a new kind of command cannot
 * slip into the docs unchecked. The quick start's calls run against a real sidecar (its ports
 * substituted for 8787/8788) in front of a fake provider.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, type ParseEntry } from 'shell-quote';
import { parseBenchOptions, parseSoakOptions } from '../../bench/lib/options';
import { registerInjectCommands } from '../../src/cli/injectCommands';
import { runProgram } from '../../src/cli/program';
import { cleanEnv, CLI_MAIN, REPO_ROOT, startCli, type CliProcess } from '../helpers/cliProcess';
import { startFakeProvider, type FakeProvider } from '../helpers/fakeProvider';

jest.setTimeout(120_000);

interface DocCommand {
  file: string;
  /** As written, continuation lines joined. */
  text: string;
  /** Words of each stage of a pipeline, quotes removed, variables left as written. */
  stages: string[][];
}

const DOCS = ['README.md', ...readdirSync(path.join(REPO_ROOT, 'docs')).map((name) => `docs/${name}`)].filter((file) => file.endsWith('.md'));

function shellBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```(?:sh|bash|shell)\n([\s\S]*?)^```/gm)].map((match) => match[1] as string);
}

function commandsOf(file: string): DocCommand[] {
  const commands: DocCommand[] = [];
  for (const block of shellBlocks(readFileSync(path.join(REPO_ROOT, file), 'utf8'))) {
    for (const line of block.replace(/\\\n\s*/g, ' ').split('\n')) {
      const entries = parse(line, (name) => `$${name}`);
      const stages: string[][] = [[]];
      let text = line;
      for (const entry of entries as ParseEntry[]) {
        if (typeof entry === 'string') stages[stages.length - 1]?.push(entry);
        else if ('comment' in entry) text = line.slice(0, line.lastIndexOf(`#${entry.comment}`)).trimEnd();
        else if ('op' in entry && entry.op === '|') stages.push([]);
        else throw new Error(`${file}: unexpected shell syntax in: ${line}`);
      }
      if (stages[0]?.length) commands.push({ file, text: text.trim(), stages });
    }
  }
  return commands;
}

const ALL = DOCS.flatMap(commandsOf);
const makefile = readFileSync(path.join(REPO_ROOT, 'Makefile'), 'utf8');
const hasMakeTarget = (target: string): boolean => new RegExp(`^${target.replace(/[-.]/g, '\\$&')}:`, 'm').test(makefile);

/** The CLI parses `args` as it would from a shell; `run` stops after resolving its configuration. */
async function cliAccepts(args: readonly string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const io = { stdout: { write: () => true }, stderr: { write: (text: string) => (stderr += text) }, env: {}, version: '0.0.0' };
  const code = await runProgram({ ...io, actions: { run: async () => undefined } }, args, (program) =>
    registerInjectCommands(program, { ...io, stdin: process.stdin, serveWebhook: async () => undefined }),
  );
  return { code, stderr };
}

test('the docs have shell blocks to check', () => {
  expect(ALL.length).toBeGreaterThan(10);
  expect(new Set(ALL.map((command) => command.file))).toContain('README.md');
});

describe('commands that need a cluster, Docker or minutes of their own: what they name exists', () => {
  const deferred = ALL.filter((command) => ['make', 'kubectl', 'docker'].includes(command.stages[0]?.[0] ?? '') || command.stages.slice(1).some((stage) => stage[0] === 'kubectl'));

  test.each(deferred.map((command) => [command.file, command.text, command] as const))('%s: %s', (_file, _text, command) => {
    for (const stage of command.stages) {
      const [program, ...args] = stage;
      if (program === 'make') {
        const targets = args.filter((arg) => !arg.includes('='));
        expect(targets.length).toBeGreaterThan(0);
        for (const target of targets) expect(hasMakeTarget(target)).toBe(true);
        const bench = args.find((arg) => arg.startsWith('ARGS='))?.slice('ARGS='.length);
        if (bench !== undefined && targets.includes('bench')) expect(() => parseBenchOptions(bench.split(/\s+/))).not.toThrow();
        if (bench !== undefined && targets.includes('soak')) expect(() => parseSoakOptions(bench.split(/\s+/))).not.toThrow();
      } else if (program === 'kubectl') {
        // `kubectl kustomize` renders every base in test/integration/k8sKustomize; here the paths exist.
        expect(args[0]).toBe('apply');
        const kustomized = args[args.indexOf('-k') + 1];
        if (args.includes('-k')) expect(existsSync(path.join(REPO_ROOT, kustomized as string, 'kustomization.yaml'))).toBe(true);
        else expect(args.slice(args.indexOf('-f'))).toEqual(['-f', '-']);
      } else if (program !== 'genai-sidecar') {
        throw new Error(`no rule for "${program}" in ${command.file}: add one to test/integration/docCommands.test.ts`);
      }
    }
  });
});

describe('the commands that run here, run', () => {
  let provider: FakeProvider;
  let sidecar: CliProcess;
  let ports: { proxy: string; admin: string };
  const npmPrefix = mkdtempSync(path.join(os.tmpdir(), 'genai-sidecar-npm-'));
  let linked: { status: number | null; stderr: string };

  beforeAll(async () => {
    provider = await startFakeProvider();
    sidecar = startCli(['run', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--upstream', `openai=${provider.url}`, '--metrics-exporter', 'prometheus']);
    const ready = await sidecar.waitForJsonLine((line) => line.msg === 'genai-sidecar ready', 20_000);
    ports = { proxy: new URL(String(ready.listen)).host, admin: new URL(String(ready.admin)).host };
    // `npm link` first, into a prefix of the test's own: the later commands call `genai-sidecar`.
    linked = await sh('npm link --no-audit --no-fund');
  });

  afterAll(async () => {
    sidecar?.kill();
    await provider?.close();
    rmSync(npmPrefix, { recursive: true, force: true });
  });

  /**
   * Runs `text` in sh from the repository, with the sidecar's real ports and `genai-sidecar` as npm
   * link leaves it. Asynchronous: the fake provider answers from this process.
   */
  function sh(text: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
    const script = text.replaceAll('127.0.0.1:8787', ports.proxy).replaceAll('127.0.0.1:8788', ports.admin);
    const env = cleanEnv({ OPENAI_API_KEY: 'sk-doc-test', npm_config_prefix: npmPrefix, PATH: `${path.join(npmPrefix, 'bin')}:${process.env.PATH ?? ''}` });
    return new Promise((resolve) => {
      const child = spawn('sh', ['-c', script], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.once('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      });
    });
  }

  const runnable = ALL.filter((command) => ['curl', 'export', 'npm', 'genai-sidecar'].includes(command.stages[0]?.[0] ?? ''));

  test('npm link puts genai-sidecar on the PATH (into a temporary prefix here)', async () => {
    expect(ALL.find((command) => command.text === 'npm link')).toBeDefined();
    expect(linked.status).toBe(0);
    expect(() => accessSync(path.join(npmPrefix, 'bin', 'genai-sidecar'), constants.X_OK)).not.toThrow();
    expect((await sh('genai-sidecar --version')).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  test.each(runnable.map((command) => [command.file, command.text, command] as const))('%s: %s', async (_file, text, command) => {
    const [program, ...args] = command.stages[0] as string[];
    if (program === 'npm') return void expect(args).toEqual(['link']);
    if (program === 'genai-sidecar' && args[0] === 'run' && !args.includes('--help')) {
      // The proxy itself is not started: the CLI must accept every flag and value as written.
      const parsed = await cliAccepts(args);
      expect(parsed).toEqual({ code: 0, stderr: '' });
      return;
    }
    if (program === 'curl') provider.enqueue({ status: 200, headers: { 'content-type': 'application/json' }, chunks: [JSON.stringify({ id: 'c', object: 'chat.completion', model: 'gpt-4o-mini-2024-07-18', choices: [{ index: 0, message: { role: 'assistant', content: 'Hello' }, finish_reason: 'stop' }], usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 } })] });
    // Run with the linked command when it appears (as the README shows it after `npm link`).
    const result = await sh(program === 'genai-sidecar' && command.stages.length > 1 ? command.stages[0]?.join(' ') ?? text : text);
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    if (program === 'genai-sidecar' && args[0] === 'inject') expect(result.stdout).toContain('name: genai-sidecar');
    if (text.includes('/metrics')) expect(result.stdout).toMatch(/^gen_ai_client_operation_duration_seconds_count\{.*gen_ai_request_model="gpt-4o-mini".*\} [1-9]/m);
  });
});

test('the CLI the docs run is built and executable', () => {
  expect(() => accessSync(CLI_MAIN, constants.X_OK)).not.toThrow();
});
