/**
 * One keep-alive connection, one request at a time, each timed on its own from its write to its
 * last byte (node:net, the request's bytes built once). wrk gives the load; this gives the
 * latency a lone caller sees without the load generator's own scheduling in it: on a small
 * machine wrk's 1-connection p99 carries wrk's own scheduling delays, even for direct calls.
 * Bounded by time, by request count and per request.
 */
import net from 'node:net';
import { CHAT_REQUEST, REQUEST_HEADERS } from '../lib/payloads';
import { completeResponse } from '../lib/responseFraming';

export interface TimedLoopRun {
  url: string;
  durationMs: number;
  maxRequests: number;
  /** Per request. */
  timeoutMs: number;
}

export interface TimedLoopResult {
  latenciesMs: number[];
  /** Answers whose status was not 200. */
  failures: number;
}

/** The chat completion request wrk sends, as raw HTTP/1.1 bytes for `url`. */
export function chatRequestBytes(url: string): Buffer {
  const target = new URL(url);
  const headers = { ...REQUEST_HEADERS, host: target.host, 'content-length': String(Buffer.byteLength(CHAT_REQUEST)) };
  const head = `POST ${target.pathname}${target.search} HTTP/1.1\r\n${Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(CHAT_REQUEST)]);
}

export function runTimedLoop(run: TimedLoopRun): Promise<TimedLoopResult> {
  const target = new URL(run.url);
  const request = chatRequestBytes(run.url);
  return new Promise((resolve, reject) => {
    const latenciesMs: number[] = [];
    let failures = 0;
    let received: Buffer = Buffer.alloc(0);
    let sentAt = 0;
    const stopAt = performance.now() + run.durationMs;
    const socket = net.connect(Number(target.port), target.hostname);
    socket.setNoDelay(true);
    let limit: NodeJS.Timeout | undefined;
    const fail = (error: Error): void => {
      clearTimeout(limit);
      socket.destroy();
      reject(error);
    };
    const send = (): void => {
      clearTimeout(limit);
      limit = setTimeout(() => fail(new Error(`no complete answer from ${run.url} within ${run.timeoutMs} ms`)), run.timeoutMs);
      sentAt = performance.now();
      socket.write(request);
    };
    socket.once('connect', send);
    socket.on('error', fail);
    socket.on('data', (chunk: Buffer) => {
      const now = performance.now();
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      let answer;
      try {
        answer = completeResponse(received);
      } catch (error) {
        fail(error as Error);
        return;
      }
      if (answer === undefined) return;
      latenciesMs.push(now - sentAt);
      if (answer.status !== 200) failures += 1;
      received = received.subarray(answer.end);
      if (received.length > 0) return fail(new Error(`${run.url} sent bytes nobody asked for`));
      if (now < stopAt && latenciesMs.length < run.maxRequests) return send();
      clearTimeout(limit);
      socket.end();
      resolve({ latenciesMs, failures });
    });
  });
}
