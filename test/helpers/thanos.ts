/**
 * Real Thanos components on loopback (the release scripts/build-thanos.sh builds into .cache):
 * Receive replicas in a hashring, Store Gateway and Compactor on a filesystem bucket, and Query
 * in front. Each runs as its own process with its log in a file; every wait is bounded.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, logTail, probe, startChild, waitReady, type Child } from '../../bench/servers/processes';
import { repoRoot } from '../../bench/tools';
import { pinnedVersion } from './buildScripts';

// Found by walking up to package.json, so this module also runs compiled (the pipeline bench).
const ROOT = repoRoot();
export const THANOS_BUILD_SCRIPT = 'scripts/build-thanos.sh';

/** The release the tests run, read from the build script so the version lives in one place. */
export const THANOS_VERSION = pinnedVersion(THANOS_BUILD_SCRIPT, 'THANOS_VERSION');

export const THANOS_BIN = path.join(ROOT, '.cache', `thanos-${THANOS_VERSION}`, 'bin', 'thanos');

export function requireThanos(): string {
  if (!existsSync(THANOS_BIN)) throw new Error(`Thanos ${THANOS_VERSION} is not built at ${THANOS_BIN}: run ${THANOS_BUILD_SCRIPT} (make test does)`);
  return THANOS_BIN;
}

/** The external label every Receive replica stamps on its blocks; Query deduplicates on it. */
export const RECEIVE_REPLICA_LABEL = 'replica';

/** Writes an objstore config for a filesystem bucket at `bucketDir` and returns its path. */
export function filesystemBucket(dir: string, bucketDir: string): string {
  mkdirSync(bucketDir, { recursive: true });
  const file = path.join(dir, `objstore-${path.basename(bucketDir)}.yml`);
  writeFileSync(file, `type: FILESYSTEM\nconfig:\n  directory: ${JSON.stringify(bucketDir)}\n`);
  return file;
}

export interface ThanosProcess {
  name: string;
  httpUrl: string;
  /** host:port of its gRPC StoreAPI (what Query's --endpoint takes). */
  grpcAddress: string;
  child(): Child;
  log(): string;
  /** SIGKILL, as a node failure or an OOM kill does; resolves when the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
  /** Starts it again with the same flags, ports and data; resolves when ready. */
  start(): Promise<void>;
}

interface ProcessSpec {
  name: string;
  component: string;
  args: string[];
  logDir: string;
  httpPort?: number;
  grpcPort?: number;
  /** Ready probe path on the HTTP port; /-/ready unless given. */
  readyPath?: string;
  readyTimeoutMs?: number;
}

/** Starts `thanos <component>` with loopback HTTP and gRPC listeners, waits for its ready probe. */
export async function startThanos(spec: ProcessSpec): Promise<ThanosProcess> {
  const binary = requireThanos();
  const httpPort = spec.httpPort ?? (await freePort());
  const grpcPort = spec.grpcPort ?? (await freePort());
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const logFile = path.join(spec.logDir, `${spec.name}.log`);
  const args = [
    spec.component,
    `--http-address=127.0.0.1:${httpPort}`,
    `--grpc-address=127.0.0.1:${grpcPort}`,
    // The default grace periods are 2 minutes each: a stop would wait that long.
    '--http-grace-period=1s',
    '--grpc-grace-period=1s',
    '--log.level=info',
    ...spec.args,
  ];
  let current: Child | undefined;
  const start = async (): Promise<void> => {
    const child = startChild(spec.name, binary, args, logFile);
    current = child;
    // Not ready in time: stop it, or it would outlive the test that gave up on it.
    await waitReady(child, `${httpUrl}${spec.readyPath ?? '/-/ready'}`, performance.now(), spec.readyTimeoutMs ?? 30_000, 100).catch(async (error: unknown) => {
      await child.stop(1_000);
      throw error;
    });
  };
  await start();
  const child = (): Child => {
    if (!current) throw new Error(`${spec.name} never started`);
    return current;
  };
  return {
    name: spec.name,
    httpUrl,
    grpcAddress: `127.0.0.1:${grpcPort}`,
    child,
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    async kill() {
      const running = child();
      running.process.kill('SIGKILL');
      await running.exited;
    },
    async stop() {
      await child().stop(10_000);
    },
    start,
  };
}

export interface ReceiveRing {
  replicas: ThanosProcess[];
  /** Remote-write URL of replica `i` (/api/v1/receive). */
  remoteWriteUrl(i: number): string;
  hashringFile: string;
}

/**
 * `count` Receive replicas, each router and ingestor at once, in one ketama hashring with the
 * given replication factor, each with its own TSDB under `dir` and uploading blocks to `objstore`
 * (omit to keep blocks local). The hashring names the replicas by their gRPC addresses, so the
 * ports are chosen before any starts.
 */
export async function startReceiveRing(options: {
  dir: string;
  count: number;
  replicationFactor: number;
  objstoreFile?: string;
  extraArgs?: string[];
}): Promise<ReceiveRing> {
  const ports = await Promise.all(
    Array.from({ length: options.count }, async () => ({ http: await freePort(), grpc: await freePort(), write: await freePort(), capnp: await freePort() })),
  );
  const hashringFile = path.join(options.dir, 'hashring.json');
  writeFileSync(hashringFile, JSON.stringify([{ hashring: 'default', endpoints: ports.map((p) => `127.0.0.1:${p.grpc}`) }]));
  const started = await Promise.allSettled(
    ports.map((p, i) =>
      startThanos({
        name: `receive-${i}`,
        component: 'receive',
        logDir: options.dir,
        httpPort: p.http,
        grpcPort: p.grpc,
        args: [
          `--remote-write.address=127.0.0.1:${p.write}`,
          // Otherwise it also listens on 0.0.0.0:19391 for replication over Cap'n Proto.
          `--receive.capnproto-address=127.0.0.1:${p.capnp}`,
          `--tsdb.path=${path.join(options.dir, `receive-${i}`)}`,
          `--label=${RECEIVE_REPLICA_LABEL}="receive-${i}"`,
          `--receive.local-endpoint=127.0.0.1:${p.grpc}`,
          `--receive.hashrings-file=${hashringFile}`,
          '--receive.hashrings-algorithm=ketama',
          `--receive.replication-factor=${options.replicationFactor}`,
          // No local retention, so no idle-tenant pruning: 0.42.4 runs it at every fourth full hour
          // (UTC) and panicked here when that fell while the tenant's TSDB was still opening (seen
          // at 12:00). A test's Receive lives minutes, far from any retention.
          '--tsdb.retention=0d',
          ...(options.objstoreFile ? [`--objstore.config-file=${options.objstoreFile}`] : []),
          ...(options.extraArgs ?? []),
        ],
      }),
    ),
  );
  const replicas = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    // The caller gets no ring to stop: the replicas that did start must not outlive the test.
    await Promise.all(replicas.map((replica) => replica.stop()));
    throw failed.reason;
  }
  return { replicas, hashringFile, remoteWriteUrl: (i) => `http://127.0.0.1:${ports[i]?.write ?? 0}/api/v1/receive` };
}

export async function startStore(options: { dir: string; name: string; objstoreFile: string; extraArgs?: string[] }): Promise<ThanosProcess> {
  return startThanos({
    name: options.name,
    component: 'store',
    logDir: options.dir,
    args: [`--data-dir=${path.join(options.dir, options.name)}`, `--objstore.config-file=${options.objstoreFile}`, '--sync-block-duration=3s', ...(options.extraArgs ?? [])],
  });
}

export interface QueryParams {
  /** Thanos' max_source_resolution: '0s' (raw), '5m', '1h' or 'auto'. */
  maxSourceResolution?: string;
  /** Deduplicate over the replica labels (Thanos' default is on). */
  dedup?: boolean;
  partialResponse?: boolean;
}

export interface ThanosQuery extends ThanosProcess {
  /** An instant query; throws on an error or a warning-free empty response is left to the caller. */
  instant(expr: string, timeSeconds: number, params?: QueryParams): Promise<InstantSample[]>;
  range(expr: string, startSeconds: number, endSeconds: number, stepSeconds: number, params?: QueryParams): Promise<RangeSeries[]>;
  /** A range selector (`name{...}[10m]`) as raw samples per series. */
  samples(rangeSelector: string, timeSeconds: number, params?: QueryParams): Promise<RangeSeries[]>;
  /** Waits until every StoreAPI endpoint it was given shows up as healthy in /api/v1/stores. */
  waitForEndpoints(count: number, timeoutMs?: number): Promise<void>;
}

export interface InstantSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface RangeSeries {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}

export async function startQuery(options: { dir: string; name: string; endpoints: string[]; extraArgs?: string[] }): Promise<ThanosQuery> {
  const base = await startThanos({
    name: options.name,
    component: 'query',
    logDir: options.dir,
    args: [
      ...options.endpoints.map((endpoint) => `--endpoint=${endpoint}`),
      `--query.replica-label=${RECEIVE_REPLICA_LABEL}`,
      // Re-resolve endpoints often, so a restarted replica is back within the test's waits.
      '--store.sd-interval=2s',
      ...(options.extraArgs ?? []),
    ],
  });
  const call = async (route: string, params: URLSearchParams, extra: QueryParams | undefined, want?: string): Promise<unknown> => {
    if (extra?.maxSourceResolution !== undefined) params.set('max_source_resolution', extra.maxSourceResolution);
    if (extra?.dedup !== undefined) params.set('dedup', String(extra.dedup));
    params.set('partial_response', String(extra?.partialResponse ?? false));
    const response = await fetch(`${base.httpUrl}${route}`, { method: 'POST', body: params });
    const body = (await response.json()) as { status: string; error?: string; data?: { resultType: string; result: unknown } };
    if (body.status !== 'success' || body.data === undefined) throw new Error(`${options.name}: ${params.get('query') ?? route} failed: ${body.error ?? response.status}`);
    if (want !== undefined && body.data.resultType !== want) throw new Error(`${options.name}: ${params.get('query') ?? route} gave a ${body.data.resultType}, not a ${want}`);
    return body.data.resultType === 'scalar' ? [{ metric: {}, value: body.data.result }] : body.data.result;
  };
  return {
    ...base,
    instant: async (expr, timeSeconds, params) => (await call('/api/v1/query', new URLSearchParams({ query: expr, time: String(timeSeconds) }), params)) as InstantSample[],
    range: async (expr, startSeconds, endSeconds, stepSeconds, params) =>
      (await call('/api/v1/query_range', new URLSearchParams({ query: expr, start: String(startSeconds), end: String(endSeconds), step: String(stepSeconds) }), params)) as RangeSeries[],
    samples: async (rangeSelector, timeSeconds, params) =>
      (await call('/api/v1/query', new URLSearchParams({ query: rangeSelector, time: String(timeSeconds) }), params, 'matrix')) as RangeSeries[],
    async waitForEndpoints(count, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let seen = 0;
      while (Date.now() < deadline) {
        const response = await fetch(`${base.httpUrl}/api/v1/stores`).catch(() => undefined);
        if (response?.ok) {
          const body = (await response.json()) as { data?: Record<string, Array<{ lastError?: string | null }>> };
          seen = Object.values(body.data ?? {})
            .flat()
            .filter((store) => !store.lastError).length;
          if (seen >= count) return;
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      throw new Error(`${options.name}: ${seen} of ${count} endpoints healthy after ${timeoutMs} ms:\n${logTail(base.child())}`);
    },
  };
}

/**
 * One run of the Compactor over a bucket (without --wait: compact, downsample, apply retention,
 * exit). Returns its log; throws with the log when it fails.
 */
export function runCompactor(options: { dir: string; objstoreFile: string; args?: string[]; timeoutMs?: number }): string {
  const result = spawnSync(
    requireThanos(),
    ['compact', `--data-dir=${path.join(options.dir, 'compact')}`, `--objstore.config-file=${options.objstoreFile}`, '--http-address=127.0.0.1:0', '--log.level=info', ...(options.args ?? [])],
    { encoding: 'utf8', timeout: options.timeoutMs ?? 300_000 },
  );
  const log = `${result.stdout}${result.stderr}`;
  if (result.status !== 0) throw new Error(`thanos compact exited ${result.status ?? result.signal}:\n${log.slice(-4000)}`);
  return log;
}

/** True when something answers 200 on `url` (a component's /-/ready, say). */
export async function isReady(url: string): Promise<boolean> {
  return (await probe(url, 500)) === 200;
}
