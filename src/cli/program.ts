/**
 * The command-line program, built by a function so tests can run it with their own output
 * streams, environment and actions. Bad input gives one clear line on stderr and exit code 2.
 */
import { Command, CommanderError } from 'commander';
import type { SidecarConfig } from '../config/config';
import { ConfigError } from '../config/errors';
import { addFlagOptions } from './flagTable';
import { RUN_FLAGS, resolveRunConfig, type Env, type RawFlags } from './runFlags';

export interface ProgramIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: Env;
  version: string;
  actions: {
    run(config: SidecarConfig): Promise<void>;
  };
}

export const USAGE_ERROR_EXIT_CODE = 2;

/** Thrown (instead of exiting) so callers decide how to leave; carries the exit code. */
export class ProgramExit extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

export function buildProgram(io: ProgramIo): Command {
  const output = {
    writeOut: (text: string) => io.stdout.write(text),
    writeErr: (text: string) => io.stderr.write(text),
    // Commander puts "(Did you mean --listen?)" on a second line; keep every error to one line.
    outputError: (text: string, write: (text: string) => void) => write(`genai-sidecar: ${text.trim().replace(/\s*\n\s*/g, ' ')}\n`),
  };
  const program = new Command('genai-sidecar')
    .description('Per-pod proxy that measures LLM calls and exports OpenTelemetry gen_ai.* metrics over OTLP/HTTP')
    .version(io.version, '--version')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput(output);

  const run = program.command('run').description('Run the proxy (the main job)').exitOverride();
  run.configureOutput(output);
  addFlagOptions(run, RUN_FLAGS);
  run.action(async (raw: RawFlags) => {
    let config: SidecarConfig;
    try {
      config = resolveRunConfig(raw, io.env, io.version);
    } catch (error) {
      if (error instanceof ConfigError) {
        io.stderr.write(`genai-sidecar: error: ${error.message}\n`);
        throw new ProgramExit(USAGE_ERROR_EXIT_CODE);
      }
      throw error;
    }
    await io.actions.run(config);
  });
  return program;
}

/**
 * Run the program; returns the process exit code instead of exiting. `extend` adds further
 * commands (main.ts adds `inject` and `webhook`).
 */
export async function runProgram(io: ProgramIo, argv: readonly string[], extend?: (program: Command) => void): Promise<number> {
  const program = buildProgram(io);
  extend?.(program);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof ProgramExit) return error.exitCode;
    if (error instanceof CommanderError) {
      // Help and version are successful exits; every parsing error is a usage error.
      if (error.exitCode === 0) return 0;
      return USAGE_ERROR_EXIT_CODE;
    }
    throw error;
  }
}
