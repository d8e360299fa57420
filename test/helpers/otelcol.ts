/**
 * The project's own collector (collector/builder-config.yaml, built by `make collector` into
 * .cache/otelcol/<hash of the manifest>/) run on loopback with a SHIPPED config whose addresses
 * alone are replaced: listen addresses, the remote-write endpoint, the writers a router sends to.
 * Everything else (processors, queue, retries, telemetry names) is exactly what users run.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDocument, type Document } from 'yaml';
import { repoRoot } from '../../bench/tools';
import { freePort } from '../../bench/servers/processes';

// Found by walking up to package.json, so this module also runs compiled (the pipeline bench).
export const REPO_ROOT = repoRoot();
export const COLLECTOR_MANIFEST = path.join(REPO_ROOT, 'collector/builder-config.yaml');
export const WRITER_CONFIG = path.join(REPO_ROOT, 'collector-config.yaml');
export const K8S_WRITER_CONFIG = path.join(REPO_ROOT, 'k8s/collector/config/collector-config.yaml');
export const ROUTER_CONFIG = path.join(REPO_ROOT, 'collector/router-config.yaml');
export const K8S_ROUTER_CONFIG = path.join(REPO_ROOT, 'k8s/collector/config/router-config.yaml');

/** Where scripts/build-collector.sh puts the binary for the manifest as it is now. */
export function collectorBinary(): string {
  const key = createHash('sha256').update(readFileSync(COLLECTOR_MANIFEST)).digest('hex').slice(0, 16);
  const binary = path.join(REPO_ROOT, '.cache/otelcol', key, 'otelcol-genai');
  if (!existsSync(binary)) {
    throw new Error(`The collector for the current collector/builder-config.yaml is not built (${binary} is missing): run \`make collector\` (\`make test\` does)`);
  }
  return binary;
}

export interface CommandResult {
  code: number;
  output: string;
}

/** `otelcol-genai validate --config=FILE`. */
export function validateConfig(file: string): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(collectorBinary(), ['validate', `--config=${file}`], { timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

export interface CollectorPorts {
  http: number;
  grpc: number;
  health: number;
  metrics: number;
}

/** What replaces the shipped addresses. */
export interface Addresses {
  ports: CollectorPorts;
  /** Writer configs: Prometheus's remote-write URL. */
  remoteWriteUrl?: string;
  /** Router configs: the writers' OTLP/gRPC addresses (a static list in place of the DNS name). */
  writers?: string[];
}

function setIn(document: Document, pathKeys: Array<string | number>, value: unknown): void {
  if (!document.hasIn(pathKeys)) throw new Error(`the shipped config has no ${pathKeys.join('.')}: the test's address substitution is out of date`);
  document.setIn(pathKeys, value);
}

/**
 * The shipped config text with its addresses replaced, and nothing else. Throws when an address
 * the substitution expects is missing, so a renamed component fails here instead of running with
 * a production address.
 */
export function withAddresses(configText: string, addresses: Addresses): string {
  const document = parseDocument(configText);
  const { ports } = addresses;
  setIn(document, ['receivers', 'otlp', 'protocols', 'http', 'endpoint'], `127.0.0.1:${ports.http}`);
  setIn(document, ['receivers', 'otlp', 'protocols', 'grpc', 'endpoint'], `127.0.0.1:${ports.grpc}`);
  setIn(document, ['extensions', 'health_check', 'endpoint'], `127.0.0.1:${ports.health}`);
  setIn(document, ['service', 'telemetry', 'metrics', 'readers', 0, 'pull', 'exporter', 'prometheus', 'host'], '127.0.0.1');
  setIn(document, ['service', 'telemetry', 'metrics', 'readers', 0, 'pull', 'exporter', 'prometheus', 'port'], ports.metrics);
  if (addresses.remoteWriteUrl !== undefined) {
    setIn(document, ['exporters', 'prometheus_remote_write', 'http', 'endpoint'], addresses.remoteWriteUrl);
  }
  if (addresses.writers !== undefined) {
    // No cluster DNS here: the same writers as a static list.
    if (!document.hasIn(['exporters', 'load_balancing', 'resolver', 'dns'])) throw new Error('the shipped router config has no load_balancing dns resolver');
    document.deleteIn(['exporters', 'load_balancing', 'resolver', 'dns']);
    document.setIn(['exporters', 'load_balancing', 'resolver', 'static', 'hostnames'], addresses.writers);
  }
  return document.toString();
}

export interface CollectorOptions {
  /** A shipped config file (collector-config.yaml, collector/router-config.yaml). */
  config: string;
  remoteWriteUrl?: string;
  writers?: string[];
  /** Extra environment, e.g. GOMEMLIMIT as the k8s manifests set it. */
  env?: Record<string, string>;
  /** A cgroup v1 memory directory to start the collector in (its limit is the container's). */
  memoryCgroup?: string;
}

export interface RunningCollector {
  ports: CollectorPorts;
  /** OTLP/HTTP metrics URL, what a sidecar's --otlp-endpoint gets (without /v1/metrics). */
  otlpHttpUrl: string;
  otlpGrpcAddress: string;
  metricsUrl: string;
  pid(): number | undefined;
  /** Everything the collector logged, over all its runs. */
  log(): string;
  /** Non-null once the current run exited. */
  exitCode(): number | null;
  exitSignal(): NodeJS.Signals | null;
  /** The collector's own metrics, Prometheus text. */
  selfMetrics(): Promise<string>;
  /** Stops the current run (SIGTERM: queues drain as in a rolling update; SIGKILL: a crash). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again with the same config and ports. */
  start(): Promise<void>;
  /** Stops it for good and removes its files. */
  close(): Promise<void>;
}

export async function startCollector(options: CollectorOptions): Promise<RunningCollector> {
  const binary = collectorBinary();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'genai-otelcol-'));
  const ports: CollectorPorts = { http: await freePort(), grpc: await freePort(), health: await freePort(), metrics: await freePort() };
  const configFile = path.join(dir, path.basename(options.config));
  writeFileSync(configFile, withAddresses(readFileSync(options.config, 'utf8'), { ports, remoteWriteUrl: options.remoteWriteUrl, writers: options.writers }));

  let child: ChildProcess | undefined;
  let log = '';
  const spawnCollector = (): ChildProcess => {
    const args = [`--config=${configFile}`];
    const env = { ...process.env, ...options.env };
    const spawned =
      options.memoryCgroup === undefined
        ? spawn(binary, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
        : // Join the cgroup first, then become the collector: its limit applies from the first byte.
          spawn('/bin/sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', options.memoryCgroup, binary, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    spawned.stdout?.setEncoding('utf8').on('data', (text: string) => (log += text));
    spawned.stderr?.setEncoding('utf8').on('data', (text: string) => (log += text));
    return spawned;
  };

  const start = async (): Promise<void> => {
    child = spawnCollector();
    const current = child;
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (current.exitCode !== null || current.signalCode !== null) throw new Error(`the collector exited (${current.exitCode ?? current.signalCode}) while starting:\n${log}`);
      const ready = await fetch(`http://127.0.0.1:${ports.health}/`).then((r) => r.ok, () => false);
      if (ready) return;
      if (Date.now() > deadline) throw new Error(`the collector was not ready within 30 s:\n${log}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const current = child;
    if (!current || current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise((resolve) => current.once('exit', resolve));
    current.kill(signal);
    const timer = setTimeout(() => current.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  };

  await start();
  return {
    ports,
    otlpHttpUrl: `http://127.0.0.1:${ports.http}`,
    otlpGrpcAddress: `127.0.0.1:${ports.grpc}`,
    metricsUrl: `http://127.0.0.1:${ports.metrics}/metrics`,
    pid: () => child?.pid,
    log: () => log,
    exitCode: () => child?.exitCode ?? null,
    exitSignal: () => child?.signalCode ?? null,
    selfMetrics: async () => (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text(),
    stop,
    start,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One value from Prometheus text, summed over the series of `name` whose labels include `labels`. */
export function sampleSum(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const set = match[2] ?? '';
    if (!Object.entries(labels).every(([key, value]) => set.includes(`${key}="${value}"`))) continue;
    total = (total ?? 0) + Number(match[3]);
  }
  return total;
}

/** Lines of a log that say data was lost or refused for being malformed. */
export function dataLossLines(log: string): string[] {
  return log.split('\n').filter((line) => /out.of.order|out.of.bounds|duplicate sample|invalid|dropping/i.test(line));
}

/** A cgroup v1 memory group with `limitBytes`, for a collector to run in as in a container. */
export interface MemoryCgroup {
  dir: string;
  /** Highest memory use the kernel saw in the group. */
  maxUsageBytes(): number;
  /** Times the group's memory use hit its limit (memory.failcnt). */
  limitHits(): number;
  /** Times the kernel's OOM killer acted in the group. */
  oomKills(): number;
  remove(): void;
}

export function createMemoryCgroup(name: string, limitBytes: number): MemoryCgroup {
  const root = '/sys/fs/cgroup/memory';
  if (!existsSync(path.join(root, 'memory.limit_in_bytes'))) {
    throw new Error(`no cgroup v1 memory controller at ${root}: this test runs the collector under a container-like memory limit and needs one (run as root)`);
  }
  const dir = path.join(root, `${name}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'memory.limit_in_bytes'), String(limitBytes));
  // No swap: the limit is a hard ceiling, as in a pod.
  try {
    writeFileSync(path.join(dir, 'memory.memsw.limit_in_bytes'), String(limitBytes));
  } catch {
    // swap accounting is off on this kernel: there is no swap to limit
  }
  const read = (file: string): string => readFileSync(path.join(dir, file), 'utf8');
  return {
    dir,
    maxUsageBytes: () => Number(read('memory.max_usage_in_bytes')),
    limitHits: () => Number(read('memory.failcnt')),
    oomKills: () => Number(/oom_kill (\d+)/.exec(read('memory.oom_control'))?.[1] ?? 0),
    remove: () => {
      // A cgroup directory goes with rmdir (its files cannot be unlinked); it fails while a
      // process is still inside, which close() prevents by stopping the collector first.
      if (existsSync(dir)) rmdirSync(dir);
    },
  };
}
