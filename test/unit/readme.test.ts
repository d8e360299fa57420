/**
 * The README stays true: its flag table matches the flag definitions, it names every metric,
 * and the quick start is exactly the two commands CI and users run.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RUN_FLAGS } from '../../src/cli/runFlags';
import { METRICS } from '../../src/telemetry/names';

const readme = readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');

test('the quick start shows exactly make run and make test', () => {
  const quickStart = readme.split('## Quick start')[1]?.split('\n## ')[0] ?? '';
  const block = /```sh\n([\s\S]*?)```/.exec(quickStart)?.[1] ?? '';
  const commands = block
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter(Boolean);
  expect(commands).toEqual(['make run', 'make test']);
});

test.each(RUN_FLAGS.map((flag) => [flag.flags, flag] as const))('the flag table documents %s with its env and default', (_name, flag) => {
  const row = readme.split('\n').find((line) => line.startsWith(`| \`${flag.flags}\``));
  expect(row).toBeDefined();
  for (const env of flag.env) expect(row).toContain(`\`${env}\``);
  expect(row?.trim().endsWith(`| ${flag.defaultText ?? 'unset'} |`)).toBe(true);
});

test.each(Object.values(METRICS).map((metric) => [metric.name] as const))('the README names %s', (name) => {
  const prefix = name.replace(/\.(remaining|limit|reset)$/, '');
  expect(readme.includes(`\`${name}\``) || readme.includes(`\`${prefix}.`)).toBe(true);
});

test('the README links the generated metrics reference', () => {
  expect(readme).toContain('(docs/metrics.md)');
});
