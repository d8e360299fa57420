/**
 * A fresh Node child that touches 64 MiB when told to, for memory samplers: in a jest worker,
 * memory freed by earlier suites can already be resident, and a new buffer there would leave RSS
 * where it was.
 */
import { spawn } from 'node:child_process';

export interface AllocatingChild {
  pid: number;
  /** Resolves once the child is up and waiting. */
  ready: Promise<void>;
  /** Has the child allocate and touch 64 MiB; resolves once it has. */
  allocate(): Promise<void>;
  kill(): void;
}

export function startAllocatingChild(): AllocatingChild {
  const child = spawn(process.execPath, ['-e', 'process.stdin.once("data", () => { globalThis.held = Buffer.alloc(64 << 20, 1); console.log("allocated"); }); console.log("ready");'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const line = (text: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        if (!chunk.toString().includes(text)) return;
        child.stdout.off('data', onData);
        resolve();
      };
      child.stdout.on('data', onData);
      child.once('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    });
  const ready = line('ready');
  return {
    pid: child.pid as number,
    ready,
    allocate() {
      const allocated = line('allocated');
      child.stdin.write('go\n');
      return allocated;
    },
    kill: () => child.kill(),
  };
}
