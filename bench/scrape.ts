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
import { clockTicksPerSecond, readCpuTicks } from './lib/procfs';
import type { ScrapeFigures } from './lib/results';
import { summarize } from './lib/stats';

export const SCRAPE_MODELS = 100;
export const SCRAPE_TENANTS = 10;
const SCRAPES = 60;
const WARM_UP_SCRAPES = 5;
const LOOP_MS = 3_000;
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

function scrape(url: string, agent: http.Agent): Promise<{ ms: number; bytes: number; text: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent, headers: { accept: 'application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.2' }, timeout: 10_000 }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ ms: performance.now() - started, bytes: Buffer.byteLength(text), text });
        });
      })
      .on('error', reject);
  });
}

const ticksToMs = (ticks: number): number => (ticks / clockTicksPerSecond()) * 1000;

export async function measureScrape(env: BenchEnvironment, log: (message: string) => void): Promise<ScrapeFigures> {
  const sidecar = await env.startAnotherSidecar('scrape', [], ['--metrics-exporter', 'prometheus', '--header-attribute', 'x-tenant-id=tenant', '--max-attribute-values', '200']);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const scrapeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const pid = sidecar.child.pid;
  try {
    const url = proxiedUrls(sidecar.url).json;
    for (let model = 0; model < SCRAPE_MODELS; model += 1) {
      const body = CHAT_REQUEST.replace('"gpt-4o-mini"', `"model-${model}"`);
      for (let tenant = 0; tenant < SCRAPE_TENANTS; tenant += 1) {
        const status = await post(url, agent, body, `tenant-${tenant}`);
        if (status !== 200) throw new Error(`populating calls answered ${status}`);
      }
    }
    const metricsUrl = `${sidecar.adminUrl}/metrics`;
    let page = { ms: 0, bytes: 0, text: '' };
    for (let index = 0; index < WARM_UP_SCRAPES; index += 1) page = await scrape(metricsUrl, scrapeAgent);
    const labelSets = new Set(page.text.split('\n').filter((line) => line.startsWith('gen_ai_client_operation_duration_seconds_count{')));
    const samples = page.text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;

    // Idle CPU over the time the scrapes take, to subtract (timers, GC).
    const wallMs: number[] = [];
    const before = readCpuTicks(pid);
    const started = performance.now();
    for (let index = 0; index < SCRAPES; index += 1) wallMs.push((await scrape(metricsUrl, scrapeAgent)).ms);
    const scrapingMs = performance.now() - started;
    const after = readCpuTicks(pid);
    const idleBefore = readCpuTicks(pid);
    await new Promise((resolve) => setTimeout(resolve, scrapingMs));
    const idleAfter = readCpuTicks(pid);
    const busyMs = before && after ? ticksToMs(after.ticks - before.ticks) : undefined;
    const idleMs = idleBefore && idleAfter ? ticksToMs(idleAfter.ticks - idleBefore.ticks) : 0;
    const cpuMsPerScrape = busyMs === undefined ? undefined : Math.max(0, busyMs - idleMs) / SCRAPES;

    // A lone caller, without and then with scrapes back to back on another connection.
    const loop = () => runTimedLoop({ url, durationMs: LOOP_MS, maxRequests: LOOP_MAX_REQUESTS, timeoutMs: 5_000 });
    await loop();
    const quiet = summarize((await loop()).latenciesMs);
    let scraping = true;
    let scrapesDuringLoop = 0;
    const scraper = (async () => {
      while (scraping) {
        await scrape(metricsUrl, scrapeAgent);
        scrapesDuringLoop += 1;
      }
    })();
    const busy = summarize((await loop()).latenciesMs);
    scraping = false;
    await scraper;

    const figures: ScrapeFigures = {
      labelSets: labelSets.size,
      samples,
      pageKiB: page.bytes / 1024,
      cpuMsPerScrape,
      wallMsP50: summarize(wallMs)?.p50,
      loopP99Ms: quiet?.p99,
      loopP99WhileScrapedMs: busy?.p99,
      loopMaxMs: quiet?.max,
      loopMaxWhileScrapedMs: busy?.max,
      scrapesDuringLoop,
    };
    log(
      `scrape of ${figures.labelSets} label sets (${samples} samples, ${figures.pageKiB.toFixed(0)} KiB): sidecar CPU ${cpuMsPerScrape?.toFixed(2)} ms per scrape, wall p50 ${figures.wallMsP50?.toFixed(1)} ms; ` +
        `1-conn p99 ${quiet?.p99.toFixed(3)} ms quiet, ${busy?.p99.toFixed(3)} ms with ${scrapesDuringLoop} scrapes alongside (max ${quiet?.max.toFixed(2)} / ${busy?.max.toFixed(2)} ms)`,
    );
    return figures;
  } finally {
    agent.destroy();
    scrapeAgent.destroy();
    await sidecar.child.stop();
  }
}
