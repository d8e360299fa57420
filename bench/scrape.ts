/**
 * What a Prometheus scrape of `/metrics` costs a busy sidecar: a fresh sidecar (pull only, so no
 * OTLP export runs in the same time) is given calls for 100 models x 10 tenants (1,000 label
 * sets), then scraped back to back. Reported: the sidecar's CPU per scrape (its CPU over the
 * scrapes, minus what it used idle for as long), the page's size, and what a caller on one
 * connection waits with and without scrapes running alongside.
 */
import http from 'node:http';
import { runTimedLoop } from './clients/timedLoop';
import type { BenchEnvironment } from './environment';
import { proxiedUrls } from './environment';
import { CHAT_REQUEST, REQUEST_HEADERS } from './lib/payloads';
import { clockTicksPerSecond, readCpuTicks, readMainThreadSchedstat } from './lib/procfs';
import type { ScrapeFigures } from './lib/results';
import { summarize } from './lib/stats';

export const SCRAPE_MODELS = 100;
export const SCRAPE_TENANTS = 10;
const SCRAPES = 60;
const WARM_UP_SCRAPES = 5;
const LOOP_MS = 3_000;
/** Scrapes timed right after a call to every label set, so every series changed since the last. */
const CHANGED_SCRAPES = 5;
const LOOP_MAX_REQUESTS = 100_000;

function post(url: string, agent: http.Agent, body: string, tenant: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', agent, headers: { ...REQUEST_HEADERS, 'x-tenant-id': tenant, 'content-length': Buffer.byteLength(body) }, timeout: 10_000 }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', reject);
    request.end(body);
  });
}

/** What Prometheus 3.5 sends: protobuf first with native histograms on (as k8s/ and compose run it), else OpenMetrics first. */
export const SCRAPE_ACCEPT = {
  protobuf: 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.2,*/*;q=0.1',
  openmetrics: 'application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.2,*/*;q=0.1',
} as const;

function scrape(url: string, agent: http.Agent, accept: string): Promise<{ ms: number; body: Buffer; type: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent, headers: { accept }, timeout: 10_000 }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ ms: performance.now() - started, body: Buffer.concat(chunks), type: String(response.headers['content-type']) }));
      })
      .on('error', reject);
  });
}

const ticksToMs = (ticks: number): number => (ticks / clockTicksPerSecond()) * 1000;

/** Back-to-back scrapes in one format: the sidecar's CPU per scrape, and a caller's latency meanwhile. */
async function measureFormat(
  pid: number,
  metricsUrl: string,
  agent: http.Agent,
  format: string,
  accept: string,
  loop: () => Promise<{ latenciesMs: number[] }>,
): Promise<ScrapeFigures['formats'][number]> {
  let page: { ms: number; body: Buffer; type: string } = { ms: 0, body: Buffer.alloc(0), type: '' };
  for (let index = 0; index < WARM_UP_SCRAPES; index += 1) page = await scrape(metricsUrl, agent, accept);
  const wallMs: number[] = [];
  const before = readCpuTicks(pid);
  const started = performance.now();
  for (let index = 0; index < SCRAPES; index += 1) wallMs.push((await scrape(metricsUrl, agent, accept)).ms);
  const scrapingMs = performance.now() - started;
  const after = readCpuTicks(pid);
  // Idle CPU over as long (timers, GC), subtracted.
  const idleBefore = readCpuTicks(pid);
  await new Promise((resolve) => setTimeout(resolve, scrapingMs));
  const idleAfter = readCpuTicks(pid);
  const busyMs = before && after ? ticksToMs(after.ticks - before.ticks) : undefined;
  const idleMs = idleBefore && idleAfter ? ticksToMs(idleAfter.ticks - idleBefore.ticks) : 0;

  let scraping = true;
  let scrapesDuringLoop = 0;
  const scraper = (async () => {
    while (scraping) {
      await scrape(metricsUrl, agent, accept);
      scrapesDuringLoop += 1;
    }
  })();
  const busy = summarize((await loop()).latenciesMs);
  scraping = false;
  await scraper;
  return {
    format: `${format} (${page.type.split(';')[0]})`,
    pageKiB: page.body.length / 1024,
    cpuMsPerScrape: busyMs === undefined ? undefined : Math.max(0, busyMs - idleMs) / SCRAPES,
    wallMsP50: summarize(wallMs)?.p50,
    loopP99WhileScrapedMs: busy?.p99,
    loopMaxWhileScrapedMs: busy?.max,
    scrapesDuringLoop,
  };
}

export async function measureScrape(env: BenchEnvironment, log: (message: string) => void): Promise<ScrapeFigures> {
  const sidecar = await env.startAnotherSidecar('scrape', [], ['--metrics-exporter', 'prometheus', '--header-attribute', 'x-tenant-id=tenant', '--max-attribute-values', '200']);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const scrapeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const pid = sidecar.child.pid;
  try {
    const url = proxiedUrls(sidecar.url).json;
    const callEveryLabelSet = async (): Promise<void> => {
      for (let model = 0; model < SCRAPE_MODELS; model += 1) {
        const body = CHAT_REQUEST.replace('"gpt-4o-mini"', `"model-${model}"`);
        for (let tenant = 0; tenant < SCRAPE_TENANTS; tenant += 1) {
          const status = await post(url, agent, body, `tenant-${tenant}`);
          if (status !== 200) throw new Error(`populating calls answered ${status}`);
        }
      }
    };
    await callEveryLabelSet();
    const metricsUrl = `${sidecar.adminUrl}/metrics`;
    const text = (await scrape(metricsUrl, scrapeAgent, SCRAPE_ACCEPT.openmetrics)).body.toString('utf8');
    const labelSets = new Set(text.split('\n').filter((line) => line.startsWith('gen_ai_client_operation_duration_seconds_count{'))).size;
    const samples = text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
    const loop = () => runTimedLoop({ url, durationMs: LOOP_MS, maxRequests: LOOP_MAX_REQUESTS, timeoutMs: 5_000 });
    await loop();
    const quiet = summarize((await loop()).latenciesMs);
    const formats: ScrapeFigures['formats'] = [];
    for (const [format, accept] of Object.entries(SCRAPE_ACCEPT)) {
      const figures = await measureFormat(pid, metricsUrl, scrapeAgent, format, accept, loop);
      // The same page when every series changed since the previous scrape (nothing to reuse).
      const changedMs: number[] = [];
      for (let index = 0; index < CHANGED_SCRAPES; index += 1) {
        await callEveryLabelSet();
        const before = readMainThreadSchedstat(pid)?.onCpuNs;
        await scrape(metricsUrl, scrapeAgent, accept);
        const after = readMainThreadSchedstat(pid)?.onCpuNs;
        if (before !== undefined && after !== undefined) changedMs.push((after - before) / 1e6);
      }
      formats.push({ ...figures, cpuMsPerChangedScrape: summarize(changedMs)?.p50 });
    }
    const figures: ScrapeFigures = { labelSets, samples, loopP99Ms: quiet?.p99, loopMaxMs: quiet?.max, formats };
    for (const f of formats) {
      log(
        `scrape of ${labelSets} label sets (${samples} samples) as ${f.format}: ${f.pageKiB.toFixed(0)} KiB, sidecar CPU ${f.cpuMsPerScrape?.toFixed(2)} ms per scrape (${f.cpuMsPerChangedScrape?.toFixed(2)} ms with every series changed), wall p50 ${f.wallMsP50?.toFixed(1)} ms; ` +
          `1-conn p99 ${quiet?.p99.toFixed(3)} ms quiet, ${f.loopP99WhileScrapedMs?.toFixed(3)} ms with ${f.scrapesDuringLoop} scrapes alongside (max ${quiet?.max.toFixed(2)} / ${f.loopMaxWhileScrapedMs?.toFixed(2)} ms)`,
      );
    }
    return figures;
  } finally {
    agent.destroy();
    scrapeAgent.destroy();
    await sidecar.child.stop();
  }
}
