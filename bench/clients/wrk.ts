/**
 * Runs wrk (a real load generator, closed loop: each connection sends its next request when the
 * answer arrives) with the benchmark's Lua script, bounded by its duration plus a margin.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { CHAT_REQUEST, REQUEST_HEADERS } from '../lib/payloads';
import { parseWrkOutput, wrkLuaScript, type WrkResult } from '../lib/wrk';

export interface WrkRun {
  url: string;
  connections: number;
  durationS: number;
}

/** Writes the POST script into `dir` once; returns its path. */
export function writeWrkScript(dir: string): string {
  const file = path.join(dir, 'chat-completion.lua');
  writeFileSync(file, wrkLuaScript({ method: 'POST', body: CHAT_REQUEST, headers: REQUEST_HEADERS }));
  return file;
}

export function runWrk(wrk: string, script: string, run: WrkRun): Promise<WrkResult> {
  // wrk needs at least one connection per thread.
  const threads = Math.min(2, run.connections);
  const args = ['-t', String(threads), '-c', String(run.connections), '-d', `${run.durationS}s`, '--latency', '--timeout', '5s', '-s', script, run.url];
  return new Promise((resolve, reject) => {
    const child = spawn(wrk, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const limit = setTimeout(() => child.kill('SIGKILL'), (run.durationS + 15) * 1000);
    // If the benchmark exits early (Ctrl-C), wrk goes with it.
    const killOnExit = (): void => void child.kill('SIGKILL');
    process.once('exit', killOnExit);
    const settle = (): void => {
      clearTimeout(limit);
      process.off('exit', killOnExit);
    };
    child.once('error', (error) => {
      settle();
      reject(error);
    });
    child.once('close', (code, signal) => {
      settle();
      if (code !== 0) {
        reject(new Error(`wrk ${args.join(' ')} failed (${signal ?? code}): ${stderr.trim() || stdout.trim()}`));
        return;
      }
      try {
        const result = parseWrkOutput(stdout);
        // wrk reports a broken script on stderr and then runs plain GETs: never measure those.
        if (result.source !== 'lua') throw new Error(`wrk did not run the benchmark's Lua script: ${stderr.trim()}`);
        resolve(result);
      } catch (error) {
        reject(error instanceof Error ? new Error(`${error.message}\n${stdout}`) : error);
      }
    });
  });
}
