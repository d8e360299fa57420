#!/usr/bin/env node
/**
 * Process entry point: wires the program to the real process (streams, env, signals).
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

async function main(): Promise<void> {
  const code = await runProgram(
    {
      stdout: process.stdout,
      stderr: process.stderr,
      env: process.env,
      version: packageVersion(),
      actions: {
        async run(config) {
          const sidecar = await startSidecar(config);
          const shutdown = (signal: string): void => {
            sidecar.logger.info('shutting down', { signal });
            sidecar.stop().then(
              () => process.exit(0),
              () => process.exit(1),
            );
          };
          process.once('SIGTERM', () => shutdown('SIGTERM'));
          process.once('SIGINT', () => shutdown('SIGINT'));
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

main().catch((error: unknown) => {
  process.stderr.write(`genai-sidecar: fatal: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
