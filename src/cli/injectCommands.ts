/**
 * `genai-sidecar inject` and `genai-sidecar webhook`. Both take the same injection flags (one
 * table, env fallbacks GENAI_SIDECAR_INJECT_*) and call the same injection function. Bad input
 * gives one line on stderr and exit code 2, like `run`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { HostPort } from '../config/config';
import { InjectError } from '../inject/errors';
import { DEFAULT_COLLECTOR_ENDPOINT, DEFAULT_IMAGE_REPOSITORY, checkInjectOptions, defaultInjectOptions, type InjectOptions } from '../inject/options';
import { createLogger } from '../log/logger';
import { WebhookSetupError } from '../webhook/errors';
import type { WebhookConfig } from '../webhook/server';
// program.ts registers these commands, so this import is a cycle: harmless, both are only used at run time.
import { ProgramExit, USAGE_ERROR_EXIT_CODE } from './program';
import { addFlagOptions, allValues, lastValue, lookupFlag, parseHostPort, type Env, type FlagDefinition, type FlagSource, type RawFlags } from './flagTable';

export interface InjectCommandsIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  stdin: NodeJS.ReadableStream;
  env: Env;
  version: string;
  /** What `webhook` does once its flags are resolved; defaults to serving until SIGTERM. Tests replace it. */
  serveWebhook?: (config: WebhookConfig) => Promise<void>;
}

/** A flag of `inject` / `webhook` (the same table shape as `run`'s). */
export type CommandFlag = FlagDefinition;

export const INJECTION_FLAGS: readonly CommandFlag[] = [
  { flags: '--image <image>', key: 'image', description: 'Sidecar image', env: ['GENAI_SIDECAR_INJECT_IMAGE'], defaultText: `${DEFAULT_IMAGE_REPOSITORY}:<version>` },
  {
    flags: '--collector-endpoint <url>',
    key: 'collectorEndpoint',
    description: "OTLP/HTTP base URL of the in-cluster OpenTelemetry Collector (the sidecar's OTEL_EXPORTER_OTLP_ENDPOINT)",
    env: ['GENAI_SIDECAR_INJECT_COLLECTOR_ENDPOINT'],
    defaultText: DEFAULT_COLLECTOR_ENDPOINT,
  },
  {
    flags: '--upstream <route[:provider]=url>',
    key: 'upstream',
    description: "The sidecar's upstream routes, as `run --upstream`; the app gets the SDK base-URL variables of these routes (repeatable; env is comma-separated)",
    env: ['GENAI_SIDECAR_INJECT_UPSTREAMS'],
    defaultText: "the sidecar's public endpoints",
    repeatable: true,
  },
  {
    flags: '--header-attribute <header=attribute>',
    key: 'headerAttribute',
    description: 'Request header copied into a metric attribute, as `run --header-attribute` (repeatable; env is comma-separated)',
    env: ['GENAI_SIDECAR_INJECT_HEADER_ATTRIBUTES'],
    repeatable: true,
  },
  {
    flags: '--metrics <mode>',
    key: 'metrics',
    description: 'push: OTLP to the collector; pull: /metrics on the admin port, with prometheus.io/scrape annotations for Prometheus to find it; both (a Prometheus that gets both counts every call twice)',
    env: ['GENAI_SIDECAR_INJECT_METRICS'],
    defaultText: 'push',
  },
  {
    flags: '--legacy-sidecar',
    key: 'legacySidecar',
    description: 'Add the sidecar as a regular container, for clusters before Kubernetes 1.29 (Jobs then never complete), instead of a native sidecar init container',
    env: ['GENAI_SIDECAR_INJECT_LEGACY_SIDECAR'],
    defaultText: 'false',
  },
];

export const WEBHOOK_FLAGS: readonly CommandFlag[] = [
  { flags: '--listen <host:port>', key: 'listen', description: 'HTTPS address of /mutate, /healthz and /readyz', env: ['GENAI_SIDECAR_WEBHOOK_LISTEN'], defaultText: '0.0.0.0:8443' },
  { flags: '--tls-cert <file>', key: 'tlsCert', description: 'PEM certificate (chain) the API server trusts (required)', env: ['GENAI_SIDECAR_WEBHOOK_TLS_CERT'] },
  { flags: '--tls-key <file>', key: 'tlsKey', description: 'PEM private key of the certificate (required)', env: ['GENAI_SIDECAR_WEBHOOK_TLS_KEY'] },
];

export function registerInjectCommands(program: Command, io: InjectCommandsIo): void {
  const inject = program
    .command('inject')
    .description('Add the genai-sidecar to every pod template in Kubernetes YAML (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob)')
    .requiredOption('-f, --filename <file>', 'YAML to read (one or more documents); - reads stdin (required)')
    .option('-o, --output <file>', 'Write the result to this file instead of stdout');
  addFlagOptions(inject, INJECTION_FLAGS);
  inject.action((raw: RawFlags) => usageErrors(io, () => runInject(raw, io)));

  const webhook = program.command('webhook').description('Serve the mutating admission webhook that injects the sidecar into pods as they are created');
  addFlagOptions(webhook, [...WEBHOOK_FLAGS, ...INJECTION_FLAGS]);
  webhook.action((raw: RawFlags) =>
    usageErrors(io, async () => {
      const config = resolveWebhookConfig(raw, io.env, io.version);
      // Loaded on use: the webhook's HTTPS stack (express) would add ~100 ms to every `run` start-up.
      const serve =
        io.serveWebhook ??
        (async (resolved: WebhookConfig) => (await import('../webhook/server')).serveWebhookUntilSignal(resolved, createLogger('info', 'json', io.stderr)));
      await serve(config);
    }),
  );
  for (const command of [inject, webhook]) command.exitOverride().configureOutput(program.configureOutput());
}

async function runInject(raw: RawFlags, io: InjectCommandsIo): Promise<void> {
  const options = resolveInjectOptions(raw, io.env, io.version);
  const file = String(raw.filename);
  const { injectManifests } = await import('../inject/manifests');
  const result = injectManifests(await readInput(file, io.stdin), options);
  for (const report of result.reports) {
    for (const warning of report.warnings) io.stderr.write(`genai-sidecar: warning: ${report.ref}: ${warning}\n`);
  }
  const output = raw.output === undefined ? undefined : String(raw.output);
  if (output === undefined) {
    io.stdout.write(result.text);
    return;
  }
  try {
    writeFileSync(output, result.text);
  } catch (error) {
    throw new InjectError(`cannot write ${output} (${errorCode(error)})`);
  }
}

async function readInput(file: string, stdin: NodeJS.ReadableStream): Promise<string> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new InjectError(`cannot read ${file} (${errorCode(error)})`);
  }
}

/** One line and exit code 2 for anything the user can fix; everything else propagates. */
async function usageErrors(io: InjectCommandsIo, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    if (error instanceof InjectError || error instanceof WebhookSetupError) {
      io.stderr.write(`genai-sidecar: error: ${error.message}\n`);
      throw new ProgramExit(USAGE_ERROR_EXIT_CODE);
    }
    throw error;
  }
}

export function resolveInjectOptions(raw: RawFlags, env: Env, version: string): InjectOptions {
  const defaults = defaultInjectOptions(version);
  const image = lookup('image', raw, env);
  const collectorEndpoint = lookup('collectorEndpoint', raw, env);
  const upstreams = lookup('upstream', raw, env);
  const headerAttributes = lookup('headerAttribute', raw, env);
  const metrics = lookup('metrics', raw, env);
  const options: InjectOptions = {
    ...defaults,
    image: single(image) ?? defaults.image,
    collectorEndpoint: single(collectorEndpoint) ?? defaults.collectorEndpoint,
    upstreams: list(upstreams),
    headerAttributes: list(headerAttributes),
    legacySidecar: boolean(lookup('legacySidecar', raw, env)),
    metrics: (single(metrics) ?? defaults.metrics) as InjectOptions['metrics'],
  };
  checkInjectOptions(options, {
    image: image.origin,
    collectorEndpoint: collectorEndpoint.origin,
    upstreams: upstreams.origin,
    headerAttributes: headerAttributes.origin,
    metrics: metrics.origin,
  });
  return options;
}

export function resolveWebhookConfig(raw: RawFlags, env: Env, version: string): WebhookConfig {
  const required = (key: string): string => {
    const source = lookup(key, raw, env);
    const value = single(source);
    if (value === undefined) throw new InjectError(`${source.origin} is required`);
    return value;
  };
  return {
    listen: hostPort(lookup('listen', raw, env), '0.0.0.0:8443'),
    tlsCertFile: required('tlsCert'),
    tlsKeyFile: required('tlsKey'),
    injection: resolveInjectOptions(raw, env, version),
  };
}

type Source = FlagSource;

const ALL_FLAGS = [...INJECTION_FLAGS, ...WEBHOOK_FLAGS];

function lookup(key: string, raw: RawFlags, env: Env): Source {
  return lookupFlag(ALL_FLAGS, key, raw, env);
}

const single = lastValue;
const list = allValues;

function boolean(source: Source): boolean {
  if (source.value === undefined || typeof source.value === 'boolean') return source.value === true;
  const text = String(source.value).toLowerCase();
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  throw new InjectError(`${source.origin}: "${String(source.value)}" must be true or false`);
}

function hostPort(source: Source, fallback: string): HostPort {
  const text = single(source) ?? fallback;
  const parsed = parseHostPort(text);
  if (!parsed) throw new InjectError(`${source.origin}: "${text}" must be <host>:<port>, e.g. 0.0.0.0:8443`);
  return parsed;
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
}
