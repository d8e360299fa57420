#!/usr/bin/env node
/**
 * Process entry point: wires the program to the real process (streams, env, signals).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startSidecar } from '../sidecar';
import { runProgram } from './program';

function packageVersion(): string {
  try {
    const file = path.resolve(__dirname, '../../package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
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
  );
  if (code !== 0) process.exit(code);
}

main().catch((error: unknown) => {
  process.stderr.write(`genai-sidecar: fatal: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
