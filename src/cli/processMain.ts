/**
 * Wires the program to the real process (streams, env, signals); main.ts loads it once the node
 * flags are settled.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startSidecar } from '../sidecar';
import { registerInjectCommands } from './injectCommands';
import { runProgram } from './program';

function packageVersion(): string {
  // src/cli under ts-node/jest, dist/src/cli when built: package.json is two or three levels up.
  for (const file of [path.resolve(__dirname, '../../package.json'), path.resolve(__dirname, '../../../package.json')]) {
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (parsed.name === 'genai-sidecar' && typeof parsed.version === 'string') return parsed.version;
    } catch {
      // try the next candidate
    }
  }
  return '0.0.0';
}

export async function main(): Promise<void> {
  const code = await runProgram(
    {
      stdout: process.stdout,
      stderr: process.stderr,
      env: process.env,
      version: packageVersion(),
      actions: {
        async run(config) {
          const sidecar = await startSidecar(config);
          let stopping = false;
          // Once only: a Ctrl-C reaches a relaunched sidecar twice, from the terminal and from
          // its launcher, and the second must not cut the grace period short.
          const shutdown = (signal: string): void => {
            if (stopping) return;
            stopping = true;
            sidecar.logger.info('shutting down', { signal });
            sidecar.stop().then(
              () => process.exit(0),
              () => process.exit(1),
            );
          };
          process.on('SIGTERM', () => shutdown('SIGTERM'));
          process.on('SIGINT', () => shutdown('SIGINT'));
          // Started by the launcher (launcher.ts): its channel closes when it dies, even of SIGKILL.
          if (process.channel !== undefined) {
            process.channel.unref();
            process.once('disconnect', () => shutdown('launcher exited'));
          }
        },
      },
    },
    process.argv.slice(2),
    (program) =>
      registerInjectCommands(program, {
        stdout: process.stdout,
        stderr: process.stderr,
        stdin: process.stdin,
        env: process.env,
        version: packageVersion(),
      }),
  );
  if (code !== 0) process.exit(code);
}
