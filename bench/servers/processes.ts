/**
 * Child processes the benchmark starts (sidecar, nginx): spawned with their output in a log
 * file, waited for until an HTTP probe answers, stopped with SIGTERM and, past a deadline,
 * SIGKILL. Every wait is bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';

export interface Child {
  name: string;
  pid: number;
  process: ChildProcess;
  logFile: string;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exited: Promise<string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<string>;
}

export function startChild(name: string, command: string, args: readonly string[], logFile: string, env: NodeJS.ProcessEnv = process.env): Child {
  const log = openSync(logFile, 'a');
  const child = spawn(command, args, { stdio: ['ignore', log, log], env });
  closeSync(log);
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  let exitText: string | undefined;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      exitText = signal ?? String(code);
      resolve(exitText);
    });
    child.once('error', (error) => {
      exitText = `error: ${error.message}`;
      resolve(exitText);
    });
  });
  const stop = async (graceMs = 10_000): Promise<string> => {
    if (exitText !== undefined) return exitText;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const result = await exited;
    clearTimeout(timer);
    return result;
  };
  return { name, pid: child.pid, process: child, logFile, exited, stop };
}

/** The last lines of a child's log, for error messages. */
export function logTail(child: Child, lines = 20): string {
  try {
    return readFileSync(child.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** GET `url` once; the status, or undefined when nothing answered within `timeoutMs`. */
export function probe(url: string, timeoutMs = 1_000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const request = http.get(url, { agent: false, timeout: timeoutMs }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(undefined));
  });
}

/**
 * Polls `url` every `everyMs` until it answers 200; resolves with the milliseconds since `since`
 * (a performance.now() value). Rejects when the child exits or `timeoutMs` passes.
 */
export async function waitReady(child: Child, url: string, since: number, timeoutMs = 15_000, everyMs = 2): Promise<number> {
  let gone: string | undefined;
  void child.exited.then((how) => {
    gone = how;
  });
  const deadline = since + timeoutMs;
  while (performance.now() < deadline) {
    if (gone !== undefined) throw new Error(`${child.name} exited (${gone}) before it was ready:\n${logTail(child)}`);
    if ((await probe(url, 500)) === 200) return performance.now() - since;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(`${child.name} not ready at ${url} within ${timeoutMs} ms:\n${logTail(child)}`);
}

/** A port on 127.0.0.1 that was free a moment ago (for programs that need it on their command line). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
