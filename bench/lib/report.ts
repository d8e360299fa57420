/**
 * The benchmark's Markdown report and terminal summary around the results table. Pure.
 */
import type { BenchResults } from './results';
import { renderMarkdown, renderText, verdict, type Row } from './table';

export const METHOD_NOTES = [
  'All traffic stays on 127.0.0.1. "direct" is the load sent straight to the fake provider; "sidecar" goes through `dist/src/cli/main.js run` (metrics on, exporting every second to a local OTLP sink); "nginx" goes through Debian\'s nginx as a reverse proxy with upstream keep-alive; "bare node" goes through `dist/bench/servers/bareForwarderMain.js`, a node:http server relaying through the sidecar\'s own upstream pool (undici) with its header rules and node flags and nothing else (no body read, no provider modules, no observer, no telemetry): the floor of a forwarder on Node, so sidecar minus bare node is the cost of the sidecar\'s own work and bare node minus nginx the cost of Node. Every path is measured in the same run, in rounds per load level with the paths\' order rotated each round; a figure is the median over rounds (streams: all rounds pooled), so drift and bursts of noise on a shared machine hit all paths alike and one bad round moves a median little. The worst round is shown too.',
  'Plain JSON: wrk, closed loop, 2 threads (1 at 1 connection), one POST per request. The origin is nginx returning a fixed ~560-byte chat.completion: cheaper per answer than a Node server, so it takes less CPU from the proxy under test on a 2-core machine. Percentiles come from wrk\'s own microsecond histogram through its Lua `done()` hook.',
  'Streaming: a Node client times each SSE event of 64 chunks paced 20 ms apart by a Node fake provider (without `stream_options`, so the sidecar adds `include_usage` and strips the usage it asked for). Concurrent streams start spread over one stream\'s length, each at its own phase of the 20 ms pacing, as independent users\' streams are (equal phases would measure a burst of simultaneous chunks instead; CPU per stream event shows that cost). Delivery delay is arrival minus the time the fake wrote the chunk (same process, same clock): a chunk that waited for the next one would show about 20 ms there.',
  'Lone requests: 60 single requests per path, each 100 ms after the previous answer, from a node:http client with a kept-alive connection; most pods send LLM calls at such rates, far from wrk\'s closed loop.',
  '"added" rows are the path\'s figure minus direct\'s; their sidecar/direct column is the added amount over the direct figure, their sidecar/nginx column the sidecar\'s added amount over nginx\'s.',
  'Resources are read from /proc: RSS (VmRSS sampled every 100 ms during load), CPU as utime+stime of the whole process (10 ms ticks) over each 16-connection round (median of rounds) and over all streaming rounds (per event relayed, the stream\'s request included). The direct column of CPU is the origin nginx\'s own time.',
  'Large answers: for each size a fresh sidecar gets a 64 KiB answer first (lazy set-up), then three answers of that size (1 to 200 MiB) from the Node fake; growth is peak RSS (sampled every 10 ms) minus RSS just before. Growth that stops rising past some size is bounded (a cap or GC slack); growth that keeps rising with the size would be whole-response buffering.',
  'At 1 connection every hop waits for a process that went idle, and on a virtual machine waking an idle vCPU costs tens to a hundred microseconds; that is in every path, more of it in paths with more hops, and it moves with whatever else the machine is doing. Compare paths within one run, not runs with each other.',
];

export function renderMarkdownReport(results: BenchResults, rows: readonly Row[]): string {
  const meta = Object.entries(results.meta).map(([key, value]) => `- ${key}: ${String(value)}`);
  const misses = rows.filter((row) => verdict(row) === 'MISS').map((row) => `- ${row.section}: ${row.label}`);
  return [
    '# genai-sidecar benchmark',
    '',
    ...meta,
    '',
    '## Results',
    '',
    renderMarkdown(rows).trimEnd(),
    '',
    '## Targets missed',
    '',
    ...(misses.length > 0 ? misses : ['- none']),
    '',
    '## Problems seen during the run',
    '',
    ...(results.problems.length > 0 ? results.problems.map((problem) => `- ${problem}`) : ['- none']),
    '',
    `OTLP exports received from the sidecar: ${results.exports.requests} (${results.exports.bytes} bytes).`,
    '',
    '## Method',
    '',
    ...METHOD_NOTES.map((note) => `- ${note}`),
    '',
  ].join('\n');
}

export function renderTerminalSummary(results: BenchResults, rows: readonly Row[]): string {
  const problems = results.problems.length > 0 ? `\nproblems:\n${results.problems.map((problem) => `  - ${problem}`).join('\n')}\n` : '';
  return `${renderText(rows)}${problems}\nOTLP exports received from the sidecar: ${results.exports.requests}\n`;
}
