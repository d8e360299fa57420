/**
 * The start of `make bench` and `make soak` alike: parse the flags, answer --help, and turn a bad
 * flag into one line plus the usage on stderr with exit code 2.
 */
import { OptionsError } from './lib/options';

/** The parsed options, or the exit code when there is nothing more to run. */
export function optionsOrExitCode<T extends { help: boolean }>(command: string, argv: readonly string[], parse: (argv: readonly string[]) => T, usage: string): T | number {
  let options: T;
  try {
    options = parse(argv);
  } catch (error) {
    if (error instanceof OptionsError) {
      process.stderr.write(`${command}: ${error.message}\n${usage}\n`);
      return 2;
    }
    throw error;
  }
  if (options.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  return options;
}
