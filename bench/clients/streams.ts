/**
 * A streaming client that times every SSE event: N requests, a bounded number at once, each
 * bounded in time. Keep-alive connections that the caller holds across runs, so after a first
 * run connection setup is not part of the first byte: SDK clients keep theirs open too.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { REQUEST_HEADERS, STREAM_REQUEST } from '../lib/payloads';
import { sentAtMs, SseEventSplitter, withoutSentTime } from '../lib/sseEvents';
import type { StreamFailure, StreamSample } from '../lib/streamStats';

export interface StreamRun {
  url: string;
  /** Keep-alive, with at least `concurrency` sockets; the caller destroys it when done. */
  agent: http.Agent;
  total: number;
  concurrency: number;
  /** Per stream. */
  timeoutMs: number;
  /** Worker k starts startOffsetsMs[k] late (see ../lib/streamSchedule); 0 when absent. */
  startOffsetsMs?: readonly number[];
}

export async function runStreams(run: StreamRun): Promise<Array<StreamSample | StreamFailure>> {
  const results: Array<StreamSample | StreamFailure> = [];
  let next = 0;
  const worker = async (_: unknown, index: number): Promise<void> => {
    await new Promise((resolve) => setTimeout(resolve, run.startOffsetsMs?.[index] ?? 0));
    while (next < run.total) {
      next += 1;
      results.push(await timeOneStream(run.url, run.agent, run.timeoutMs).catch((error: unknown) => ({ error: String(error) })));
    }
  };
  await Promise.all(Array.from({ length: Math.min(run.concurrency, run.total) }, worker));
  return results;
}

/** What to send instead of the default short streaming request. */
export interface StreamRequest {
  body: string;
  headers: Readonly<Record<string, string>>;
}

const DEFAULT_STREAM_REQUEST: StreamRequest = { body: STREAM_REQUEST, headers: {} };

export function timeOneStream(url: string, agent: http.Agent, timeoutMs: number, sent: StreamRequest = DEFAULT_STREAM_REQUEST): Promise<StreamSample> {
  return new Promise((resolve, reject) => {
    const splitter = new SseEventSplitter();
    const digest = createHash('sha256');
    const gapsMs: number[] = [];
    const deliveryMs: number[] = [];
    let firstByteAt: number | undefined;
    let lastEventAt: number | undefined;
    let events = 0;
    const started = performance.now();
    const request = http.request(url, { method: 'POST', agent, headers: { ...REQUEST_HEADERS, ...sent.headers, 'content-length': Buffer.byteLength(sent.body) } }, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        reject(new Error(`status ${response.statusCode}`));
        return;
      }
      response.setEncoding('utf8');
      response.on('data', (text: string) => {
        const now = performance.now();
        firstByteAt ??= now;
        for (const event of splitter.push(text)) {
          events += 1;
          if (lastEventAt !== undefined) gapsMs.push(now - lastEventAt);
          lastEventAt = now;
          const sent = sentAtMs(event);
          if (sent !== undefined) deliveryMs.push(now - sent);
          digest.update(withoutSentTime(event)).update('\n\n');
        }
      });
      response.on('end', () => {
        clearTimeout(limit);
        if (firstByteAt === undefined) reject(new Error('empty stream'));
        else resolve({ ttfbMs: firstByteAt - started, gapsMs, deliveryMs, events, digest: digest.update(splitter.rest()).digest('hex').slice(0, 16), newConnection: !request.reusedSocket });
      });
      response.on('error', reject);
    });
    const limit = setTimeout(() => request.destroy(new Error(`stream not finished within ${timeoutMs} ms`)), timeoutMs);
    request.on('error', (error) => {
      clearTimeout(limit);
      reject(error);
    });
    request.end(sent.body);
  });
}
