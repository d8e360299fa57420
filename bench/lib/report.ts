/**
 * The benchmark's Markdown report and terminal summary around the results table. Pure.
 */
import type { BenchResults } from './results';
import { renderMarkdown, renderText, verdict, type Row } from './table';

export const METHOD_NOTES = [
  'All traffic stays on 127.0.0.1. "direct" is the load sent straight to the fake provider; "sidecar" goes through `dist/src/cli/main.js run` (metrics on, exporting every second to a local OTLP sink); "nginx" goes through Debian\'s nginx as a reverse proxy with upstream keep-alive. Every path is measured in the same run, interleaved per load level, so drift on a shared machine hits all three alike.',
  'Plain JSON: wrk, closed loop, 2 threads (1 at 1 connection), one POST per request. The origin is nginx returning a fixed ~560-byte chat.completion: cheaper per answer than a Node server, so it takes less CPU from the proxy under test on a 2-core machine. Percentiles come from wrk\'s own microsecond histogram through its Lua `done()` hook.',
  'Streaming: a Node client times each SSE event of 64 chunks paced 20 ms apart by a Node fake provider (without `stream_options`, so the sidecar adds `include_usage` and strips the usage it asked for). Delivery delay is arrival minus the time the fake wrote the chunk (same process, same clock): a chunk that waited for the next one would show about 20 ms there.',
  '"added" rows are the path\'s figure minus direct\'s; their sidecar/direct column is the added amount over the direct figure, their sidecar/nginx column the sidecar\'s added amount over nginx\'s.',
  'Resources are read from /proc: RSS (VmRSS sampled every 100 ms during load), CPU as utime+stime of the whole process (10 ms ticks) over the 16-connection run. The direct column of CPU is the origin nginx\'s own time.',
  'Large answers: for each size a fresh sidecar gets a 64 KiB answer first (lazy set-up), then three answers of that size from the Node fake; growth is peak RSS (sampled every 10 ms) minus RSS just before. Growth that stops rising past some size is bounded (a cap or GC slack); growth that keeps rising with the size would be whole-response buffering.',
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
