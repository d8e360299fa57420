#!/usr/bin/env node
/**
 * Process entry point (package.json `bin`, the image's entrypoint). Settles the node flags first
 * (launcher.ts), then loads the program: nothing heavy is loaded in a process that only starts
 * the sidecar again with its flags.
 */
import { relaunch, relaunchFlags } from './launcher';

async function start(): Promise<void> {
  const flags = relaunchFlags(process.argv.slice(2), process.execArgv, process.env);
  if (flags !== undefined) await relaunch(flags, (message) => process.stderr.write(message));
  const { main } = await import('./processMain');
  await main();
}

start().catch((error: unknown) => {
  process.stderr.write(`genai-sidecar: fatal: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
