/**
 * Reads the JSON report of `npm audit --json` and decides what it means for `make test`:
 * high/critical advisories fail, lower ones pass, and an audit that could not run at all
 * (endpoint unreachable or refusing, as the registry here answers 405) is "unavailable" so
 * the test can be reported as skipped instead of silently passing.
 */

/** Exactly what `make audit` runs, plus JSON output; short network limits keep `make test` bounded. */
export const AUDIT_ARGS = ['audit', '--omit=dev', '--audit-level=high', '--json', '--fetch-timeout=20000', '--fetch-retries=0'];

export const BLOCKING_SEVERITIES = ['high', 'critical'] as const;

export interface BlockingPackage {
  name: string;
  severity: string;
  /** Advisory titles and URLs found on this package itself; empty when it is only affected through a dependency. */
  advisories: string[];
  /** Dependencies it is vulnerable through (npm's `via` names). */
  through: string[];
}

export type AuditVerdict =
  | { kind: 'clean'; counts: Record<string, number> }
  | { kind: 'blocking'; packages: BlockingPackage[]; counts: Record<string, number> }
  | { kind: 'unavailable'; reason: string };

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

export function judgeAudit(stdout: string, exitCode: number | null): AuditVerdict {
  let report: unknown;
  try {
    report = JSON.parse(stdout);
  } catch {
    const first = stdout.trim().split('\n')[0] ?? '';
    return { kind: 'unavailable', reason: `npm audit printed no JSON report (exit ${String(exitCode)}${first ? `: ${first.slice(0, 200)}` : ''})` };
  }
  if (!isObject(report)) return { kind: 'unavailable', reason: 'npm audit printed JSON that is not a report object' };
  const vulnerabilities = report.vulnerabilities;
  if (!isObject(vulnerabilities)) {
    // npm's shape when the advisory endpoint failed: { message, statusCode?, error: { summary, detail } }.
    const message = typeof report.message === 'string' ? report.message : undefined;
    const summary = isObject(report.error) && typeof report.error.summary === 'string' ? report.error.summary : undefined;
    return { kind: 'unavailable', reason: `audit endpoint unreachable: ${message || summary || 'npm reported an error without a message'}` };
  }
  const counts = severityCounts(report);
  const packages = Object.values(vulnerabilities)
    .filter(isObject)
    .filter((entry) => (BLOCKING_SEVERITIES as readonly string[]).includes(String(entry.severity)))
    .map(describePackage)
    .sort((a, b) => a.name.localeCompare(b.name));
  return packages.length === 0 ? { kind: 'clean', counts } : { kind: 'blocking', packages, counts };
}

function describePackage(entry: Json): BlockingPackage {
  const via = Array.isArray(entry.via) ? entry.via : [];
  return {
    name: String(entry.name),
    severity: String(entry.severity),
    advisories: via.filter(isObject).map((advisory) => `${String(advisory.title)} (${String(advisory.severity)}, ${String(advisory.url)})`),
    through: via.filter((item): item is string => typeof item === 'string'),
  };
}

function severityCounts(report: Json): Record<string, number> {
  const metadata = isObject(report.metadata) ? report.metadata : {};
  const counts = isObject(metadata.vulnerabilities) ? metadata.vulnerabilities : {};
  return Object.fromEntries(Object.entries(counts).filter((entry): entry is [string, number] => typeof entry[1] === 'number'));
}

/** One line per package for a failure message, e.g. `qs (high): Prototype pollution (high, https://...)`. */
export function describeBlocking(packages: readonly BlockingPackage[]): string {
  return packages
    .map((pkg) => `${pkg.name} (${pkg.severity}): ${pkg.advisories.length > 0 ? pkg.advisories.join('; ') : `via ${pkg.through.join(', ')}`}`)
    .join('\n');
}
