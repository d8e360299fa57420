/**
 * The decision `make test` takes on an `npm audit` report, on recorded reports: high/critical
 * advisories fail and are named, moderate ones pass, and an audit that could not run is
 * "unavailable" (reported as skipped), never clean.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describeBlocking, judgeAudit } from '../helpers/npmAudit';

const fixture = (name: string): string => readFileSync(path.join(__dirname, '..', 'fixtures', 'npm-audit', name), 'utf8');

test('a clean report is clean', () => {
  expect(judgeAudit(fixture('clean.json'), 0)).toEqual({ kind: 'clean', counts: { info: 0, low: 0, moderate: 0, high: 0, critical: 0, total: 0 } });
});

test('a moderate advisory alone does not fail (the threshold is high), but is counted', () => {
  const verdict = judgeAudit(fixture('moderate-only.json'), 0);
  expect(verdict.kind).toBe('clean');
  expect(verdict.kind === 'clean' && verdict.counts.moderate).toBe(1);
});

test('a high advisory fails and names the package, the advisory and what it reaches', () => {
  const verdict = judgeAudit(fixture('high.json'), 1);
  expect(verdict.kind).toBe('blocking');
  if (verdict.kind !== 'blocking') return;
  expect(verdict.packages.map((pkg) => `${pkg.name}:${pkg.severity}`)).toEqual(['body-parser:high', 'express:high', 'qs:high']);
  const message = describeBlocking(verdict.packages);
  expect(message).toContain('qs (high): Fake high advisory in qs (high, https://github.com/advisories/GHSA-fake-2)');
  expect(message).toContain('express (high): via');
  // The moderate advisory on yaml is below the threshold.
  expect(message).not.toContain('yaml');
});

test('a critical advisory fails too', () => {
  const report = JSON.parse(fixture('high.json')) as { vulnerabilities: Record<string, { severity: string; via: Array<{ severity?: string }> }> };
  const yaml = report.vulnerabilities.yaml;
  if (!yaml) throw new Error('fixture changed: yaml entry missing');
  yaml.severity = 'critical';
  const verdict = judgeAudit(JSON.stringify(report), 1);
  expect(verdict.kind === 'blocking' && verdict.packages.map((pkg) => pkg.name)).toContain('yaml');
});

test.each([
  ['the registry refusing the endpoint (405, as here)', fixture('endpoint-405.json'), /audit endpoint unreachable: 405 Method Not Allowed/],
  [
    'a refused connection',
    '{"message":"request to http://127.0.0.1:1/-/npm/v1/security/advisories/bulk failed, reason: connect ECONNREFUSED 127.0.0.1:1","error":{"summary":"","detail":""}}',
    /ECONNREFUSED/,
  ],
  ['no JSON at all (npm crashed or timed out)', '', /printed no JSON report \(exit null\)/],
  ['JSON that is not a report', '[1,2]', /not a report object/],
])('%s is unavailable, not clean', (_name, stdout, reason) => {
  const verdict = judgeAudit(stdout, stdout === '' ? null : 1);
  expect(verdict.kind).toBe('unavailable');
  expect(verdict.kind === 'unavailable' && verdict.reason).toMatch(reason);
});
