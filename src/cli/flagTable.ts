/**
 * The shared machinery behind every command's flag table: one definition per flag (syntax,
 * environment fallbacks, default shown in help), registration with commander, and the
 * flag-then-environment lookup that remembers where a value came from for error messages.
 */
import { Command, Option } from 'commander';
import type { HostPort } from '../config/config';

export interface FlagDefinition {
  /** Commander flag syntax, e.g. `--listen <host:port>`. */
  flags: string;
  /** Property name commander gives the value. */
  key: string;
  description: string;
  /** Environment variables consulted, in order, when the flag is absent. */
  env: readonly string[];
  /** Shown in help; undefined means "unset". */
  defaultText?: string;
  repeatable?: boolean;
}

export type FlagValue = string | string[] | boolean | undefined;
export type RawFlags = Record<string, FlagValue>;
export type Env = Readonly<Record<string, string | undefined>>;

/** One resolved value and where it came from: the flag's name or the environment variable. */
export interface FlagSource {
  value: FlagValue;
  origin: string;
}

/** The flag's value, else its first non-blank environment variable (repeatable ones split on commas). */
export function lookupFlag(table: readonly FlagDefinition[], key: string, raw: RawFlags, env: Env): FlagSource {
  const flag = table.find((candidate) => candidate.key === key);
  if (!flag) throw new Error(`no flag ${key}`);
  const name = flag.flags.split(' ')[0] ?? flag.key;
  const given = raw[flag.key];
  if (given !== undefined && (!Array.isArray(given) || given.length > 0)) return { value: given, origin: name };
  for (const variable of flag.env) {
    const fromEnv = env[variable]?.trim();
    if (fromEnv) return { value: flag.repeatable ? splitList(fromEnv) : fromEnv, origin: variable };
  }
  return { value: undefined, origin: name };
}

/** The value of a single-valued flag (the last one when repeated); booleans have none. */
export function lastValue(source: FlagSource): string | undefined {
  const { value } = source;
  if (value === undefined || typeof value === 'boolean') return undefined;
  return Array.isArray(value) ? value[value.length - 1] : value;
}

/** Every value of a repeatable flag. */
export function allValues(source: FlagSource): string[] {
  const { value } = source;
  if (value === undefined || typeof value === 'boolean') return [];
  return Array.isArray(value) ? value : [value];
}

/** `host:port` or `[ipv6]:port`; undefined when malformed (callers word the error). */
export function parseHostPort(text: string): HostPort | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || port > 65535) return undefined;
  return { host: match[1] ?? match[2] ?? '', port };
}

/** Help text: description, then `[env: …]` and `(default: …)` when there are any. */
export function flagHelpText(flag: FlagDefinition): string {
  const env = flag.env.length > 0 ? ` [env: ${flag.env.join(', ')}]` : '';
  const fallback = flag.defaultText !== undefined ? ` (default: ${flag.defaultText})` : '';
  return `${flag.description}${env}${fallback}`;
}

export function addFlagOptions(command: Command, table: readonly FlagDefinition[]): void {
  for (const flag of table) {
    const option = new Option(flag.flags, flagHelpText(flag));
    if (flag.repeatable) option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
    command.addOption(option);
  }
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}
