/**
 * The README stays a front door and the docs stay true: the quick start is exactly the two
 * commands CI and users run, the README names every metric and stays short, every relative link
 * in README.md and docs/ resolves, and the configuration reference lists every flag with its
 * environment variables and default. (test/integration/docCommands.test.ts runs their commands.)
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { INJECTION_FLAGS, WEBHOOK_FLAGS } from '../../src/cli/injectCommands';
import { RUN_FLAGS } from '../../src/cli/runFlags';
import { METRICS } from '../../src/telemetry/names';

const ROOT = path.resolve(__dirname, '../..');
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const configuration = readFileSync(path.join(ROOT, 'docs/configuration.md'), 'utf8');
const DOCS = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).map((name) => `docs/${name}`)];

test('the quick start shows exactly make run and make test', () => {
  const quickStart = readme.split('## Quick start')[1]?.split('\n## ')[0] ?? '';
  const block = /```sh\n([\s\S]*?)```/.exec(quickStart)?.[1] ?? '';
  const commands = block
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter(Boolean);
  expect(commands).toEqual(['make run', 'make test']);
});

test('the README is a front door, not a reference: about 200 lines, reference in docs/', () => {
  expect(readme.split('\n').length).toBeLessThanOrEqual(210);
  for (const doc of ['configuration', 'providers', 'metrics', 'pipeline', 'kubernetes', 'security', 'performance']) expect(readme).toContain(`(docs/${doc}.md)`);
});

test.each(Object.values(METRICS).map((metric) => [metric.name] as const))('the README names %s', (name) => {
  const prefix = name.replace(/\.(remaining|limit|reset)$/, '');
  expect(readme.includes(`\`${name}\``) || readme.includes(`\`${prefix}.`)).toBe(true);
});

test.each(DOCS.map((file) => [file] as const))('every relative link in %s resolves', (file) => {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const links = [...text.matchAll(/\]\(([^)#\s]+)(#[^)\s]*)?\)/g)].map((match) => match[1] as string).filter((target) => !/^[a-z]+:/.test(target));
  const broken = links.filter((target) => !existsSync(path.resolve(path.dirname(path.join(ROOT, file)), target)));
  expect(broken).toEqual([]);
});

test.each([...RUN_FLAGS, ...INJECTION_FLAGS, ...WEBHOOK_FLAGS].map((flag) => [flag.flags, flag] as const))('docs/configuration.md documents %s with its env and default', (_name, flag) => {
  // Flags such as --listen belong to several commands: one of their rows has this flag's variables.
  const rows = configuration.split('\n').filter((line) => line.startsWith(`| \`${flag.flags}\``));
  expect(rows.some((row) => flag.env.every((env) => row.includes(`\`${env}\``)))).toBe(true);
});
