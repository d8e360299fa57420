/**
 * The alert rules: the committed file is what the generator renders, every series an alert
 * reads exists under that name, counters and histograms are only read through rate()/increase(),
 * every alert has a firing and a quiet promtool test, and promtool of the Prometheus release that
 * ships accepts the config, the rules and the tests. promtool comes from
 * scripts/build-prometheus.sh (`make test` runs it); without it these tests fail rather than skip.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { ALERT_RULES_FILE, alertRules, renderAlertRuleFiles } from '../../src/observability/alerts/rules';
import { COLLECTOR_JOB, collectorSeriesNames } from '../../src/telemetry/collectorNames';
import { allSeriesNames } from '../../src/telemetry/prometheusNames';
import { PROMETHEUS_BIN_DIR, PROMETHEUS_BUILD_SCRIPT, PROMETHEUS_VERSION } from '../helpers/prometheus';

const ROOT = path.resolve(__dirname, '../..');
const PROMETHEUS_CONFIG = 'prometheus/prometheus.yml';
const RULES_TEST_FILE = 'prometheus/tests/genai-sidecar.rules.test.yml';
const KNOWN_SERIES = new Set([...allSeriesNames(), ...collectorSeriesNames()]);

const readRepoFile = (relative: string): string => readFileSync(path.join(ROOT, relative), 'utf8');

// ---------------------------------------------------------------- a small PromQL tokenizer

/** Functions whose counter/histogram argument is read correctly across pod restarts. */
const RATE_FUNCTIONS = new Set(['rate', 'increase', 'irate']);
/** They only look at whether samples exist, never at their value. */
const PRESENCE_FUNCTIONS = new Set(['absent', 'absent_over_time', 'present_over_time']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'offset', 'bool', 'inf', 'nan']);
/** Grouping and matching clauses name labels, not series: dropped before tokenizing. */
const LABEL_LIST = /\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g;
const TOKEN = new RegExp(
  [
    String.raw`"(?:[^"\\]|\\.)*"`, // string
    String.raw`'(?:[^'\\]|\\.)*'`, // string
    String.raw`\{(?:"(?:[^"\\]|\\.)*"|[^}"])*\}`, // label matchers
    String.raw`\[[^\]]*\]`, // range or subquery
    String.raw`\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[a-zA-Z]*`, // number or duration
    String.raw`[a-zA-Z_:][a-zA-Z0-9_:]*`, // identifier
    String.raw`\S`,
  ].join('|'),
  'g',
);
const IDENTIFIER = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

interface SeriesUse {
  name: string;
  /** Innermost function (or aggregation) around the selector, if any. */
  enclosing: string | undefined;
}

/** Every metric selector in a PromQL expression, with the function it is an argument of. */
function seriesUses(expr: string): SeriesUse[] {
  const tokens = expr.replace(LABEL_LIST, ' ').match(TOKEN) ?? [];
  const uses: SeriesUse[] = [];
  const openCalls: string[] = [];
  tokens.forEach((token, index) => {
    // A selector without a metric name names its series with `__name__=~"a|b"` (either set of names).
    if (token.startsWith('{') && !IDENTIFIER.test(tokens[index - 1] ?? '')) {
      const names = /__name__\s*=~?\s*"([^"]*)"/.exec(token)?.[1] ?? '';
      for (const name of names.split('|')) uses.push({ name, enclosing: openCalls.at(-1) || undefined });
    }
    if (token === '(') openCalls.push(IDENTIFIER.test(tokens[index - 1] ?? '') ? (tokens[index - 1] as string) : '');
    else if (token === ')') openCalls.pop();
    else if (IDENTIFIER.test(token) && tokens[index + 1] !== '(' && !KEYWORDS.has(token)) {
      uses.push({ name: token, enclosing: openCalls.at(-1) || undefined });
    }
  });
  return uses;
}

const isCumulative = (series: string): boolean => /_(total|bucket|count|sum)$/.test(series);

const readsCumulativeSafely = (use: SeriesUse): boolean =>
  !isCumulative(use.name) || (use.enclosing !== undefined && (RATE_FUNCTIONS.has(use.enclosing) || PRESENCE_FUNCTIONS.has(use.enclosing)));

describe('the PromQL tokenizer these checks rely on', () => {
  test.each([
    ['sum by (le, job) (rate(a_bucket{x="y", z=~"a|b"}[5m]))', [{ name: 'a_bucket', enclosing: 'rate' }]],
    ['b_total / on (job) group_left (pod) c', [{ name: 'b_total', enclosing: undefined }, { name: 'c', enclosing: undefined }]],
    ['increase(d_total[1h] offset 1d) > 0.5 and e', [{ name: 'd_total', enclosing: 'increase' }, { name: 'e', enclosing: undefined }]],
    ['sum(f_count{l="sum(g_total)"})', [{ name: 'f_count', enclosing: 'sum' }]],
    ['histogram_quantile(0.95, (h_bucket))', [{ name: 'h_bucket', enclosing: undefined }]],
    ['sum(rate({__name__=~"i_count|j_count", k="v"}[5m]))', [{ name: 'i_count', enclosing: 'rate' }, { name: 'j_count', enclosing: 'rate' }]],
  ])('%s', (expr, expected) => {
    expect(seriesUses(expr)).toEqual(expected);
  });
});

// ---------------------------------------------------------------- the rules

describe('alert rules', () => {
  const rules = alertRules();

  test('there are alerts, with unique names', () => {
    expect(rules.length).toBeGreaterThanOrEqual(8);
    expect(new Set(rules.map((rule) => rule.alert)).size).toBe(rules.length);
  });

  test(`${ALERT_RULES_FILE} is what the generator renders`, () => {
    const rendered = renderAlertRuleFiles()[ALERT_RULES_FILE];
    const committed = existsSync(path.join(ROOT, ALERT_RULES_FILE)) ? readRepoFile(ALERT_RULES_FILE) : undefined;
    if (committed !== rendered) {
      throw new Error(`${ALERT_RULES_FILE} differs from what src/observability/alerts/rules.ts renders: run \`make generate\` and commit the result`);
    }
  });

  const queries = rules.flatMap((rule) => [
    [`${rule.alert} expr`, rule.expr],
    [`${rule.alert} signal`, rule.signal],
  ]);

  test.each(queries)('%s reads only series the sidecar or the collector produce', (_name, expr) => {
    const names = seriesUses(expr).map((use) => use.name);
    expect(names.length).toBeGreaterThan(0);
    // A selector over both sets of names lists them (checked above), never a pattern.
    for (const match of expr.matchAll(/__name__\s*(=~?|!=|!~)\s*"([^"]*)"/g)) expect({ op: match[1], names: match[2] }).toEqual({ op: '=~', names: expect.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\|[a-zA-Z_:][a-zA-Z0-9_:]*)*$/) });
    expect(names.filter((name) => !KNOWN_SERIES.has(name))).toEqual([]);
  });

  test.each(queries)('%s reads counters and histograms only through rate() or increase()', (_name, expr) => {
    expect(seriesUses(expr).filter((use) => !readsCumulativeSafely(use))).toEqual([]);
  });
});

// ---------------------------------------------------------------- the promtool tests and config

interface PromtoolTests {
  rule_files: string[];
  tests: Array<{
    name: string;
    input_series?: Array<{ series: string; values: string }>;
    alert_rule_test?: Array<{ eval_time: string; alertname: string; exp_alerts?: unknown[] | null }>;
  }>;
}

describe(`promtool unit tests (${RULES_TEST_FILE})`, () => {
  const file = parse(readRepoFile(RULES_TEST_FILE)) as PromtoolTests;
  const cases = file.tests.flatMap((group) => group.alert_rule_test ?? []);
  const alerts = alertRules().map((rule) => rule.alert);

  test('load the generated rules file', () => {
    expect(file.rule_files.map((rules) => path.posix.join(path.posix.dirname(RULES_TEST_FILE), rules))).toEqual([ALERT_RULES_FILE]);
  });

  test.each(alerts)('%s has a firing and a quiet case', (alert) => {
    const own = cases.filter((testCase) => testCase.alertname === alert);
    expect({ alert, firing: own.some((testCase) => (testCase.exp_alerts ?? []).length > 0) }).toEqual({ alert, firing: true });
    expect({ alert, quiet: own.some((testCase) => (testCase.exp_alerts ?? []).length === 0) }).toEqual({ alert, quiet: true });
  });

  test('test only alerts that exist', () => {
    expect(cases.map((testCase) => testCase.alertname).filter((name) => !alerts.includes(name))).toEqual([]);
  });

  test('write input series under the real names', () => {
    const names = file.tests.flatMap((group) => (group.input_series ?? []).map((input) => input.series.match(/^[a-zA-Z_:][a-zA-Z0-9_:]*/)?.[0] ?? input.series));
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((name) => !KNOWN_SERIES.has(name))).toEqual([]);
  });
});

describe(PROMETHEUS_CONFIG, () => {
  const config = parse(readRepoFile(PROMETHEUS_CONFIG)) as {
    rule_files: string[];
    scrape_configs: Array<{ job_name: string; static_configs?: Array<{ targets: string[] }>; dns_sd_configs?: Array<{ names: string[]; type?: string; port?: number }> }>;
  };

  test('loads the generated rules, relative to itself', () => {
    expect(config.rule_files.map((rules) => path.posix.join(path.posix.dirname(PROMETHEUS_CONFIG), rules))).toEqual([ALERT_RULES_FILE]);
  });

  test(`scrapes the collector's own metrics as job ${COLLECTOR_JOB}`, () => {
    const job = config.scrape_configs.find((scrape) => scrape.job_name === COLLECTOR_JOB);
    // Every collector pod as a target of its own (k8s: the headless Service otel-collector-metrics
    // over both tiers; compose: the collector's network alias), so an alert names the one failing.
    expect(job?.static_configs).toBeUndefined();
    expect(job?.dns_sd_configs).toEqual([expect.objectContaining({ names: ['otel-collector-metrics'], type: 'A', port: 8888 })]);
  });
});

describe('the Prometheus the tests run', () => {
  test.each(['docker-compose.yaml', 'k8s/prometheus/statefulset.yaml'])(`is the release %s ships (${PROMETHEUS_BUILD_SCRIPT})`, (file) => {
    const images = readRepoFile(file).match(/\bprom\/prometheus:\S+/g) ?? [];
    expect(images).toEqual([`prom/prometheus:v${PROMETHEUS_VERSION}`]);
  });
});

describe(`promtool ${PROMETHEUS_VERSION} in ${path.relative(ROOT, PROMETHEUS_BIN_DIR)}`, () => {
  const promtool = path.join(PROMETHEUS_BIN_DIR, 'promtool');

  function run(args: string[]): { status: number | null; output: string } {
    if (!existsSync(promtool)) {
      throw new Error(`promtool not found at ${promtool}: run ${PROMETHEUS_BUILD_SCRIPT} (make test runs it first)`);
    }
    const result = spawnSync(promtool, args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}` };
  }

  test.each([
    ['--version', ['--version'], `promtool, version ${PROMETHEUS_VERSION} `],
    ['check config', ['check', 'config', PROMETHEUS_CONFIG], '1 rule files found'],
    ['check rules', ['check', 'rules', ALERT_RULES_FILE], `${alertRules().length} rules found`],
    ['test rules', ['test', 'rules', RULES_TEST_FILE], 'SUCCESS'],
  ])('promtool %s', (_name, args, expected) => {
    const result = run(args);
    expect(result).toEqual({ status: 0, output: expect.stringContaining(expected) });
  });

  test("promtool check config with the pull-mode sidecars' job where k8s/prometheus mounts it (scrape.d/)", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'genai-sidecar-promcfg-'));
    try {
      cpSync(path.dirname(PROMETHEUS_CONFIG), dir, { recursive: true });
      mkdirSync(path.join(dir, 'scrape.d'));
      cpSync(path.join(ROOT, 'prometheus/kubernetes/sidecars.yml'), path.join(dir, 'scrape.d/sidecars.yml'));
      const result = run(['check', 'config', path.join(dir, path.basename(PROMETHEUS_CONFIG))]);
      expect(result).toEqual({ status: 0, output: expect.stringContaining('is valid prometheus config file syntax') });
      // A job promtool did not load would pass unnoticed: break it and the check must fail.
      writeFileSync(path.join(dir, 'scrape.d/sidecars.yml'), 'scrape_configs:\n  - job_name: genai-sidecar\n    kubernetes_sd_configs:\n      - role: pods\n');
      expect(run(['check', 'config', path.join(dir, path.basename(PROMETHEUS_CONFIG))]).status).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
