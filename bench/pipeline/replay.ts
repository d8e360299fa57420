/**
 * Many synthetic pods from one captured sidecar export: the export is sent again and again at a
 * fixed rate, each copy as the next pod (its identity rewritten) at the time it is sent, over
 * keep-alive connections as sidecars hold theirs. Open loop and bounded: sends are scheduled by
 * the clock, never more than `maxInFlight` at once (a send that would exceed it is counted as
 * skipped), and the run stops at `durationMs`.
 */
import http from 'node:http';
import { podIdentity, stampExport, type ExportTemplate } from '../lib/otlpWire';

export interface ReplayOptions {
  /** OTLP/HTTP metrics URL (…/v1/metrics). */
  url: string;
  template: ExportTemplate;
  /** Distinct pods the sends cycle through. */
  pods: number;
  /** The first pod's index (pods `firstPod` .. `firstPod + pods - 1`). */
  firstPod?: number;
  sendsPerSecond: number;
  /** Bound on the run; it also ends once `maxSends` were scheduled. */
  durationMs: number;
  maxSends?: number;
  maxInFlight?: number;
}

export interface ReplayResult {
  sent: number;
  ok: number;
  failed: number;
  skipped: number;
  /** Statuses other than 200, or error messages, with counts. */
  problems: Record<string, number>;
}

const TICK_MS = 10;
/** Time a round of sendEachPod may take beyond its schedule before it stops anyway. */
const ROUND_SLACK_MS = 10_000;

function send(url: string, agent: http.Agent, body: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const request = http.request(url, { method: 'POST', agent, timeout: 30_000, headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length } }, (response) => {
      response.resume();
      response.on('end', () => resolve(String(response.statusCode)));
    });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', (error) => resolve(error.message));
    request.end(body);
  });
}

export async function replayExports(options: ReplayOptions): Promise<ReplayResult> {
  const maxInFlight = options.maxInFlight ?? 64;
  const maxSends = options.maxSends ?? Number.POSITIVE_INFINITY;
  const agent = new http.Agent({ keepAlive: true, maxSockets: maxInFlight });
  const result: ReplayResult = { sent: 0, ok: 0, failed: 0, skipped: 0, problems: {} };
  const pending = new Set<Promise<void>>();
  const started = performance.now();
  let scheduled = 0;
  try {
    for (;;) {
      const elapsed = performance.now() - started;
      if (elapsed >= options.durationMs || scheduled >= maxSends) break;
      const due = Math.min(maxSends, Math.floor((elapsed / 1000) * options.sendsPerSecond));
      for (; scheduled < due; scheduled += 1) {
        if (pending.size >= maxInFlight) {
          result.skipped += 1;
          continue;
        }
        const pod = (options.firstPod ?? 0) + (scheduled % options.pods);
        const body = stampExport(options.template, podIdentity(options.template.marker, pod), BigInt(Date.now()) * 1_000_000n);
        result.sent += 1;
        const sending: Promise<void> = send(options.url, agent, body).then((outcome) => {
          pending.delete(sending);
          if (outcome === '200') result.ok += 1;
          else {
            result.failed += 1;
            result.problems[outcome] = (result.problems[outcome] ?? 0) + 1;
          }
        });
        pending.add(sending);
      }
      await new Promise((resolve) => setTimeout(resolve, TICK_MS));
    }
    await Promise.all(pending);
  } finally {
    agent.destroy();
  }
  return result;
}

/** Every pod in `pods` once, `rounds` times over, at most `sendsPerSecond`: a few samples per series. */
export async function sendEachPod(options: Omit<ReplayOptions, 'durationMs'> & { rounds: number }): Promise<ReplayResult> {
  const total: ReplayResult = { sent: 0, ok: 0, failed: 0, skipped: 0, problems: {} };
  for (let round = 0; round < options.rounds; round += 1) {
    const one = await replayExports({ ...options, maxSends: options.pods, durationMs: (options.pods / options.sendsPerSecond) * 1000 + ROUND_SLACK_MS });
    total.sent += one.sent;
    total.ok += one.ok;
    total.failed += one.failed;
    total.skipped += one.skipped;
    for (const [problem, count] of Object.entries(one.problems)) total.problems[problem] = (total.problems[problem] ?? 0) + count;
  }
  return total;
}
