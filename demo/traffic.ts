/**
 * Demo traffic: a bounded-rate loop that sends a mix of OpenAI and Anthropic calls through the
 * sidecar, each with an `x-tenant-id` header (the demo maps it to the `tenant` attribute).
 *
 * Bounded: at most TRAFFIC_RATE calls start per second and at most TRAFFIC_MAX_IN_FLIGHT run at
 * once, so a slow upstream slows the loop instead of piling up requests.
 *
 * Run: `node dist/demo/traffic.js` with TRAFFIC_SIDECAR_URL (default http://127.0.0.1:8787),
 * TRAFFIC_RATE (calls per second, default 2), TRAFFIC_MAX_IN_FLIGHT (default 8),
 * TRAFFIC_MAX_REQUESTS (stop after this many; default: run until stopped).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { between, seededRandom, weighted, type Random } from './random';

export interface Scenario {
  name: string;
  weight: number;
  /** Sidecar route (first path segment). */
  route: 'openai' | 'anthropic';
  /** Provider path after the route. */
  path: string;
  body(random: Random): Record<string, unknown>;
}

const QUESTIONS = [
  'Summarise the incident report in three bullet points.',
  'Translate "the cache is warm" into French.',
  'Write a haiku about rate limits.',
  'Which of these log lines is an error?',
  'Draft a polite reply declining the meeting.',
];

const LONG_SYSTEM_PROMPT = `You are a support assistant for a large retailer. ${'Policy paragraph. '.repeat(120)}`;

const question = (random: Random): string => QUESTIONS[between(random, 0, QUESTIONS.length - 1)] ?? 'Hello';

/** The call mix; weights are relative. Names show up in the generator's log only. */
export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'openai chat gpt-4o-mini',
    weight: 30,
    route: 'openai',
    path: '/v1/chat/completions',
    body: (random) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: question(random) }], max_tokens: 300 }),
  },
  {
    name: 'openai stream gpt-4o (usage requested)',
    weight: 15,
    route: 'openai',
    path: '/v1/chat/completions',
    body: (random) => ({
      model: 'gpt-4o',
      stream: true,
      stream_options: { include_usage: true },
      messages: [
        { role: 'system', content: LONG_SYSTEM_PROMPT },
        { role: 'user', content: question(random) },
      ],
    }),
  },
  {
    // The sidecar adds include_usage itself and strips the usage chunk the client did not ask for.
    name: 'openai stream gpt-4o-mini (no usage requested)',
    weight: 15,
    route: 'openai',
    path: '/v1/chat/completions',
    body: (random) => ({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: question(random) }] }),
  },
  {
    name: 'openai reasoning o3-mini',
    weight: 8,
    route: 'openai',
    path: '/v1/chat/completions',
    body: (random) => ({ model: 'o3-mini', reasoning_effort: 'medium', messages: [{ role: 'user', content: question(random) }], max_completion_tokens: 800 }),
  },
  {
    name: 'openai embeddings',
    weight: 10,
    route: 'openai',
    path: '/v1/embeddings',
    body: (random) => ({ model: 'text-embedding-3-small', input: [question(random), question(random)] }),
  },
  {
    name: 'anthropic haiku',
    weight: 12,
    route: 'anthropic',
    path: '/v1/messages',
    body: (random) => ({ model: 'claude-3-5-haiku-latest', max_tokens: 400, messages: [{ role: 'user', content: question(random) }] }),
  },
  {
    name: 'anthropic stream sonnet (prompt caching)',
    weight: 10,
    route: 'anthropic',
    path: '/v1/messages',
    body: (random) => ({
      model: 'claude-sonnet-4-20250514',
      max_tokens: 600,
      stream: true,
      system: [{ type: 'text', text: LONG_SYSTEM_PROMPT, cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: question(random) }],
    }),
  },
];

/** Tenants with a skewed share of the traffic, as real ones have. */
export const TENANTS: ReadonlyArray<{ id: string; weight: number }> = [
  { id: 'acme', weight: 50 },
  { id: 'globex', weight: 30 },
  { id: 'initech', weight: 15 },
  { id: 'umbrella', weight: 5 },
];

const PROVIDER_HEADERS: Record<Scenario['route'], Record<string, string>> = {
  // Placeholders: the fake provider checks no key, and the sidecar never records them.
  openai: { authorization: 'Bearer sk-demo' },
  anthropic: { 'x-api-key': 'sk-ant-demo', 'anthropic-version': '2023-06-01' },
};

export interface TrafficOptions {
  sidecarUrl: string;
  ratePerSecond: number;
  maxInFlight: number;
  /** Stop after this many calls; undefined runs until `signal` aborts. */
  maxRequests?: number;
  random?: Random;
  signal?: AbortSignal;
  /** Milliseconds between summary lines; 0 turns them off. */
  logEveryMs?: number;
  log?: (line: string) => void;
}

export interface TrafficSummary {
  sent: number;
  /** Count per HTTP status; `error` for calls that got no response. */
  byStatus: Record<string, number>;
}

async function sendOne(options: TrafficOptions, random: Random, summary: TrafficSummary): Promise<void> {
  const scenario = weighted(random, SCENARIOS);
  const tenant = weighted(random, TENANTS).id;
  let outcome = 'error';
  try {
    const response = await fetch(`${options.sidecarUrl.replace(/\/+$/, '')}/${scenario.route}${scenario.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-tenant-id': tenant, ...PROVIDER_HEADERS[scenario.route] },
      body: JSON.stringify(scenario.body(random)),
      signal: options.signal,
    });
    // Read to the end, like a client would: streams are only measured once they finish.
    await response.arrayBuffer();
    outcome = String(response.status);
  } catch {
    // Counted as `error`; the loop keeps going (the sidecar may still be starting).
  }
  summary.byStatus[outcome] = (summary.byStatus[outcome] ?? 0) + 1;
}

function describe(summary: TrafficSummary): string {
  const statuses = Object.entries(summary.byStatus)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, count]) => `${status}=${count}`)
    .join(' ');
  return `traffic: ${summary.sent} calls sent (${statuses || 'none finished yet'})`;
}

/** Runs the loop until `maxRequests` calls finished or `signal` aborts. */
export async function runTraffic(options: TrafficOptions): Promise<TrafficSummary> {
  const random = options.random ?? seededRandom(Date.now());
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const summary: TrafficSummary = { sent: 0, byStatus: {} };
  const inFlight = new Set<Promise<void>>();
  const gapMs = 1000 / options.ratePerSecond;
  const reporter = options.logEveryMs ? setInterval(() => log(describe(summary)), options.logEveryMs) : undefined;
  try {
    while (!options.signal?.aborted && (options.maxRequests === undefined || summary.sent < options.maxRequests)) {
      if (inFlight.size >= options.maxInFlight) {
        await Promise.race(inFlight);
        continue;
      }
      const call: Promise<void> = sendOne(options, random, summary).finally(() => inFlight.delete(call));
      inFlight.add(call);
      summary.sent += 1;
      await sleep(gapMs, undefined, { signal: options.signal }).catch(() => undefined);
    }
    await Promise.allSettled(inFlight);
  } finally {
    if (reporter) clearInterval(reporter);
  }
  log(describe(summary));
  return summary;
}

function positiveNumber(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text.trim() === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}: "${text}" must be a positive number`);
  return value;
}

async function main(): Promise<void> {
  const controller = new AbortController();
  process.once('SIGTERM', () => controller.abort());
  process.once('SIGINT', () => controller.abort());
  const options: TrafficOptions = {
    sidecarUrl: process.env.TRAFFIC_SIDECAR_URL ?? 'http://127.0.0.1:8787',
    ratePerSecond: positiveNumber('TRAFFIC_RATE', 2),
    maxInFlight: Math.floor(positiveNumber('TRAFFIC_MAX_IN_FLIGHT', 8)),
    maxRequests: process.env.TRAFFIC_MAX_REQUESTS ? Math.floor(positiveNumber('TRAFFIC_MAX_REQUESTS', 1)) : undefined,
    signal: controller.signal,
    logEveryMs: 30_000,
  };
  process.stdout.write(`traffic: ${options.ratePerSecond} calls/s to ${options.sidecarUrl}\n`);
  await runTraffic(options);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`traffic: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
