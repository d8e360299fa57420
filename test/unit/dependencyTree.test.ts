/**
 * One copy of each OpenTelemetry package in the installed tree. When our direct dependencies
 * drift a patch version from what the exporters pin, npm nests second copies of core, resources,
 * sdk-metrics, the transformer and more: the first export then loads them again, a ~250 ms stall
 * of the event loop that in-flight streams feel, and the duplicates stay in memory (issue 5).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface LockFile {
  packages: Record<string, { version?: string; dev?: boolean }>;
}

const lock = JSON.parse(readFileSync(path.resolve(__dirname, '../../package-lock.json'), 'utf8')) as LockFile;

/** Package name -> versions installed for production. */
export function productionVersions(lockFile: LockFile, scope: string): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  for (const [location, entry] of Object.entries(lockFile.packages)) {
    if (entry.dev === true || entry.version === undefined) continue;
    const name = location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length);
    if (!name.startsWith(`${scope}/`)) continue;
    const versions = found.get(name) ?? new Set<string>();
    versions.add(entry.version);
    found.set(name, versions);
  }
  return found;
}

test('every @opentelemetry package is installed once, in one version', () => {
  const versions = productionVersions(lock, '@opentelemetry');
  expect(versions.size).toBeGreaterThan(5);
  const duplicated = [...versions].filter(([, set]) => set.size > 1).map(([name, set]) => `${name}: ${[...set].join(', ')}`);
  expect(duplicated).toEqual([]);
  const nested = Object.keys(lock.packages).filter((location) => /node_modules\/.+\/node_modules\/@opentelemetry\//.test(location));
  expect(nested).toEqual([]);
});

test('the check sees a nested second version', () => {
  const skewed: LockFile = {
    packages: {
      'node_modules/@opentelemetry/core': { version: '2.12.1' },
      'node_modules/@opentelemetry/exporter-metrics-otlp-http/node_modules/@opentelemetry/core': { version: '2.12.0' },
    },
  };
  expect([...(productionVersions(skewed, '@opentelemetry').get('@opentelemetry/core') ?? [])]).toEqual(['2.12.1', '2.12.0']);
});
