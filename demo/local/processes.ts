/**
 * The demo's child processes (sidecars, Prometheus): output to a log file each, a readiness
 * wait over HTTP that gives up when the child dies, and a bounded stop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';

export interface DemoProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** Resolves with how the process ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last lines of its log. */
  tail(lines?: number): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
}

export function startProcess(name: string, command: string, args: readonly string[], logFile: string, env: NodeJS.ProcessEnv = process.env): DemoProcess {
  const log = openSync(logFile, 'a');
  // In the terminal's process group: a Ctrl-C reaches it directly and again through stop(); the
  // sidecar and Prometheus both shut down once, whatever the number of signals.
  const child = spawn(command, [...args], { stdio: ['ignore', log, log], env });
  closeSync(log);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  return {
    name,
    child,
    logFile,
    exited,
    tail: (lines = 15) => {
      try {
        return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
    async stop(graceMs = 25_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** Status of one GET, or undefined when nothing answered. */
function get(url: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const request = http.get(url, { timeout: 1_000 }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(undefined));
  });
}

/** Waits for a 200 from `url`; throws with the log's tail when the process dies or time runs out. */
export async function waitReady(process: DemoProcess, url: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let ended = false;
  void process.exited.then(() => (ended = true));
  while (Date.now() < until) {
    if (ended) throw new Error(`${process.name} exited while starting:\n${process.tail()}`);
    if ((await get(url)) === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${process.name} was not ready at ${url} after ${timeoutMs / 1000} s:\n${process.tail()}`);
}

/** A port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Throws a clear error when `host:port` is taken. */
export function assertFree(host: string, port: number, hint: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => reject(new Error(error.code === 'EADDRINUSE' ? `${host}:${port} is in use; ${hint}` : `${host}:${port}: ${error.message}`)));
    server.listen(port, host, () => server.close(() => resolve()));
  });
}
