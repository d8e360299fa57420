/**
 * The Grafana dashboards and provisioning files: committed files match the generator, every
 * panel goes through the `$datasource` variable, every query names only series the sidecar or
 * the collector produce, and counters/histograms are only read through rate()/increase().
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DATASOURCE_UID } from '../../src/observability/dashboards/datasource';
import {
  DASHBOARD_PROVISIONING_PATH,
  DASHBOARDS_DIR,
  DATASOURCE_PROVISIONING_PATH,
  dashboardQueries,
  renderDashboardFiles,
} from '../../src/observability/dashboards/render';
import { collectorSeriesNames } from '../../src/telemetry/collectorNames';
import { allSeriesNames, PROM } from '../../src/telemetry/prometheusNames';

const ROOT = path.resolve(__dirname, '../..');
const DATASOURCE_VAR_REF = '${datasource}';
const FILTER_VARIABLES = ['namespace', 'workload', 'provider', 'model'];
const GRAFANA_BUILTINS = ['__rate_interval', '__range', '__interval'];
const ALLOWED_UNITS = ['s', 'reqps', 'short', 'currencyUSD', 'percentunit'];

// ---------------------------------------------------------------------------------------------
// A small PromQL tokenizer: enough to tell metric names from functions, keywords and label
// names, and to know which call encloses each selector.

const AGGREGATORS = new Set([
  'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio',
]);
const FUNCTIONS = new Set([
  'abs', 'absent', 'absent_over_time', 'acos', 'acosh', 'asin', 'asinh', 'atan', 'atanh', 'avg_over_time', 'ceil', 'changes', 'clamp',
  'clamp_max', 'clamp_min', 'cos', 'cosh', 'count_over_time', 'day_of_month', 'day_of_week', 'day_of_year', 'days_in_month', 'deg', 'delta',
  'deriv', 'exp', 'floor', 'histogram_avg', 'histogram_count', 'histogram_fraction', 'histogram_quantile', 'histogram_stddev',
  'histogram_stdvar', 'histogram_sum', 'holt_winters', 'hour', 'idelta', 'increase', 'irate', 'label_join', 'label_replace',
  'last_over_time', 'ln', 'log10', 'log2', 'mad_over_time', 'max_over_time', 'min_over_time', 'minute', 'month', 'pi', 'predict_linear',
  'present_over_time', 'quantile_over_time', 'rad', 'rate', 'resets', 'round', 'scalar', 'sgn', 'sin', 'sinh', 'sort', 'sort_desc',
  'sqrt', 'stddev_over_time', 'stdvar_over_time', 'sum_over_time', 'tan', 'tanh', 'time', 'timestamp', 'vector', 'year',
]);
/** Keywords followed by a parenthesised list of label names. */
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan', 'start', 'end']);
const RATE_FUNCTIONS = new Set(['rate', 'increase', 'irate']);
const CUMULATIVE_SUFFIXES = ['_total', '_bucket', '_sum', '_count'];

type Token =
  | { kind: 'ident'; text: string; at: number }
  | { kind: 'variable'; text: string; at: number }
  | { kind: 'punct'; text: string; at: number }
  | { kind: 'block'; text: string; at: number }
  | { kind: 'other'; text: string; at: number };

/** Index just past the bracket closing the one at `start`, skipping quoted strings. */
function skipBlock(expr: string, start: number, close: string): number {
  let i = start + 1;
  while (i < expr.length && expr[i] !== close) {
    if (expr[i] === '"' || expr[i] === "'" || expr[i] === '`') i = skipString(expr, i);
    else i += 1;
  }
  if (i >= expr.length) throw new Error(`unclosed "${expr[start]}" at ${start} in: ${expr}`);
  return i + 1;
}

function skipString(expr: string, start: number): number {
  const quote = expr[start];
  let i = start + 1;
  while (i < expr.length && expr[i] !== quote) i += expr[i] === '\\' ? 2 : 1;
  if (i >= expr.length) throw new Error(`unclosed string at ${start} in: ${expr}`);
  return i + 1;
}

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr.charAt(i);
    const rest = expr.slice(i);
    const ident = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(rest);
    const variable = /^\$(\{[^}]+\}|[a-zA-Z_][a-zA-Z0-9_]*)/.exec(rest);
    const number = /^(0x[0-9a-fA-F]+|[0-9]*\.?[0-9]+([eE][+-]?[0-9]+)?)/.exec(rest);
    if (/\s/.test(c)) i += 1;
    else if (c === '"' || c === "'" || c === '`') {
      const end = skipString(expr, i);
      tokens.push({ kind: 'other', text: expr.slice(i, end), at: i });
      i = end;
    } else if (c === '{' || c === '[') {
      const end = skipBlock(expr, i, c === '{' ? '}' : ']');
      tokens.push({ kind: 'block', text: expr.slice(i, end), at: i });
      i = end;
    } else if (variable) {
      tokens.push({ kind: 'variable', text: variable[1]!.replace(/^\{|\}$/g, ''), at: i });
      i += variable[0].length;
    } else if (ident) {
      tokens.push({ kind: 'ident', text: ident[0], at: i });
      i += ident[0].length;
    } else if (number && number[0] !== '') {
      tokens.push({ kind: 'other', text: number[0], at: i });
      i += number[0].length;
    } else if ('(),'.includes(c)) {
      tokens.push({ kind: 'punct', text: c, at: i });
      i += 1;
    } else {
      tokens.push({ kind: 'other', text: c, at: i });
      i += 1;
    }
  }
  return tokens;
}

interface Analysis {
  /** Metric names, with the innermost call enclosing each ('' when a bare parenthesis). */
  metrics: Array<{ name: string; enclosedBy: string | undefined; isRange: boolean }>;
  problems: string[];
}

/** Walks the tokens: which identifiers are metric names, and inside which call each sits. */
function analyse(expr: string): Analysis {
  const tokens = tokenize(expr);
  const metrics: Analysis['metrics'] = [];
  const problems: string[] = [];
  const calls: string[] = [];
  let pendingCall: string | undefined;
  for (let index = 0; index < tokens.length; index += 1) {
    const token = tokens[index]!;
    const next = tokens[index + 1];
    if (token.kind === 'punct' && token.text === '(') {
      calls.push(pendingCall ?? '');
      pendingCall = undefined;
      continue;
    }
    if (token.kind === 'punct' && token.text === ')') {
      if (calls.pop() === undefined) problems.push(`unbalanced ")" at ${token.at}`);
      continue;
    }
    // A selector without a metric name names its series with `__name__=~"a|b"` (either set of names).
    if (token.kind === 'block' && token.text.startsWith('{') && tokens[index - 1]?.kind !== 'ident') {
      const names = /__name__\s*=~?\s*"([^"]*)"/.exec(token.text)?.[1];
      if (names === undefined) problems.push(`selector without a metric name at ${token.at}`);
      const isRange = next?.kind === 'block' && next.text.startsWith('[');
      for (const name of names?.split('|') ?? []) metrics.push({ name, enclosedBy: calls[calls.length - 1], isRange });
      continue;
    }
    if (token.kind !== 'ident') continue;
    const name = token.text;
    if (GROUPING.has(name)) {
      // Skip the label list: `by (le, gen_ai_request_model)`, `group_left()`.
      if (next?.kind === 'punct' && next.text === '(') {
        let end = index + 2;
        while (end < tokens.length && !(tokens[end]!.kind === 'punct' && tokens[end]!.text === ')')) end += 1;
        index = end;
      }
      continue;
    }
    if (AGGREGATORS.has(name) || FUNCTIONS.has(name)) {
      if (next?.kind === 'punct' && next.text === '(') pendingCall = name;
      else if (AGGREGATORS.has(name) && next?.kind === 'ident' && GROUPING.has(next.text)) pendingCall = name;
      else problems.push(`"${name}" at ${token.at} is a function but is not called`);
      continue;
    }
    if (KEYWORDS.has(name)) continue;
    if (next?.kind === 'punct' && next.text === '(') {
      problems.push(`unknown function "${name}" at ${token.at}`);
      continue;
    }
    // A selector is `name`, optional `{matchers}`, then a range `[window]` for a range vector.
    const afterMatchers = next?.kind === 'block' && next.text.startsWith('{') ? tokens[index + 2] : next;
    const isRange = afterMatchers?.kind === 'block' && afterMatchers.text.startsWith('[');
    metrics.push({ name, enclosedBy: calls[calls.length - 1], isRange });
  }
  if (calls.length > 0) problems.push('unbalanced "("');
  return { metrics, problems };
}

/** Series names the dashboards may use. */
const KNOWN_SERIES = new Set([...allSeriesNames(), ...collectorSeriesNames()]);

function unknownSeries(expr: string): string[] {
  const { metrics, problems } = analyse(expr);
  return [...problems, ...metrics.filter((metric) => !KNOWN_SERIES.has(metric.name)).map((metric) => `unknown series "${metric.name}"`)];
}

function isCumulative(name: string): boolean {
  return CUMULATIVE_SUFFIXES.some((suffix) => name.endsWith(suffix));
}

/** Counters and histogram series read other than as the range argument of rate()/increase(). */
function rawCumulativeReads(expr: string): string[] {
  return analyse(expr)
    .metrics.filter((metric) => isCumulative(metric.name))
    .filter((metric) => !RATE_FUNCTIONS.has(metric.enclosedBy ?? '') || !metric.isRange)
    .map((metric) => `${metric.name} read inside ${metric.enclosedBy ? `${metric.enclosedBy}()` : 'no function'}`);
}

/** The series a `label_values(series{...}, label)` variable query reads. */
function labelValuesSelector(query: string): string {
  const match = /^label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$/.exec(query.trim());
  if (!match) throw new Error(`not a label_values() query: ${query}`);
  return match[1]!;
}

// ---------------------------------------------------------------------------------------------
// The dashboards as committed.

interface Target {
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface PanelJson {
  type: string;
  title?: string;
  description?: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  fieldConfig?: { defaults?: { unit?: string } };
  gridPos?: { x: number; y: number; w: number; h: number };
}
interface VariableJson {
  type: string;
  name: string;
  query?: unknown;
  datasource?: { type?: string; uid?: string };
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
  current?: { value?: unknown };
}
interface DashboardJson {
  uid: string;
  title: string;
  tags: string[];
  panels: PanelJson[];
  templating: { list: VariableJson[] };
}

function readRepoFile(relative: string): string | undefined {
  try {
    return readFileSync(path.join(ROOT, relative), 'utf8');
  } catch {
    return undefined;
  }
}

const rendered = renderDashboardFiles();
const dashboardFiles = readdirSync(path.join(ROOT, DASHBOARDS_DIR))
  .filter((file) => file.endsWith('.json'))
  .sort()
  .map((file) => `${DASHBOARDS_DIR}/${file}`);
const dashboards: Array<[string, DashboardJson]> = dashboardFiles.map((file) => [file, JSON.parse(readRepoFile(file) ?? '') as DashboardJson]);
const queries = dashboardQueries();

describe('committed Grafana files match the generator', () => {
  test('every rendered file is committed unchanged', () => {
    const drifted = Object.entries(rendered)
      .filter(([relative, content]) => readRepoFile(relative) !== content)
      .map(([relative]) => `${relative} differs from src/observability/dashboards: run \`make generate\``);
    expect(drifted).toEqual([]);
  });

  test('no committed dashboard is left over from an older generator', () => {
    const stale = dashboardFiles.filter((file) => !(file in rendered)).map((file) => `${file} is not generated any more: delete it or run \`make generate\``);
    expect(stale).toEqual([]);
  });

  test('the five dashboards and both provisioning files are rendered', () => {
    expect(Object.keys(rendered).sort()).toEqual(
      [
        `${DASHBOARDS_DIR}/genai-models-providers.json`,
        `${DASHBOARDS_DIR}/genai-overview.json`,
        `${DASHBOARDS_DIR}/genai-pipeline-health.json`,
        `${DASHBOARDS_DIR}/genai-ratelimits-errors.json`,
        `${DASHBOARDS_DIR}/genai-workloads-tenants.json`,
        DASHBOARD_PROVISIONING_PATH,
        DATASOURCE_PROVISIONING_PATH,
      ].sort(),
    );
    for (const content of Object.values(rendered)) expect(content.endsWith('\n')).toBe(true);
  });

  test('rendering twice gives the same bytes', () => {
    expect(renderDashboardFiles()).toEqual(rendered);
  });
});

describe.each(dashboards)('%s', (file, dashboard) => {
  const variables = new Map(dashboard.templating.list.map((variable) => [variable.name, variable]));
  const panels = dashboard.panels.filter((panel) => panel.type !== 'row');
  const targets = panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title ?? '', target })));

  test('is named after its stable uid and tagged genai-sidecar', () => {
    expect(file).toBe(`${DASHBOARDS_DIR}/${dashboard.uid}.json`);
    expect(dashboard.tags).toContain('genai-sidecar');
    expect(panels.length).toBeGreaterThan(0);
  });

  test('has a Prometheus datasource variable defaulting to the provisioned uid', () => {
    const datasource = variables.get('datasource');
    expect(datasource).toMatchObject({ type: 'datasource', query: 'prometheus', current: { value: DATASOURCE_UID } });
  });

  test.each(FILTER_VARIABLES)('has a multi-value "%s" variable with All, from label_values()', (name) => {
    const variable = variables.get(name);
    expect(variable).toMatchObject({ type: 'query', multi: true, includeAll: true, allValue: '.*', datasource: { uid: DATASOURCE_VAR_REF } });
    expect(String(variable?.query)).toMatch(/^label_values\(/);
  });

  test('every panel and every target uses the datasource variable', () => {
    const offenders = [
      ...panels.filter((panel) => panel.datasource?.uid !== DATASOURCE_VAR_REF).map((panel) => `panel "${panel.title}"`),
      ...targets.filter(({ target }) => target.datasource?.uid !== DATASOURCE_VAR_REF).map(({ panel }) => `a target of "${panel}"`),
    ];
    expect(offenders).toEqual([]);
    expect(targets.length).toBeGreaterThan(0);
  });

  test('every panel has a title, a description, a unit and fits the grid', () => {
    const offenders = panels
      .filter(
        (panel) =>
          !panel.title ||
          !panel.description ||
          !ALLOWED_UNITS.includes(panel.fieldConfig?.defaults?.unit ?? '') ||
          !panel.gridPos ||
          panel.gridPos.x + panel.gridPos.w > 24,
      )
      .map((panel) => panel.title ?? panel.type);
    expect(offenders).toEqual([]);
  });

  test('queries only use defined variables, and filter variables only as =~"$var"', () => {
    const problems: string[] = [];
    for (const { panel, target } of targets) {
      const expr = target.expr ?? '';
      for (const [, name] of expr.matchAll(/\$\{?([a-zA-Z_][a-zA-Z0-9_]*)/g)) {
        if (!variables.has(name!) && !GRAFANA_BUILTINS.includes(name!)) problems.push(`"${panel}" uses undefined $${name}`);
        if (FILTER_VARIABLES.includes(name!) && !expr.includes(`=~"$${name}"`)) problems.push(`"${panel}" uses $${name} other than =~"$${name}"`);
      }
      for (const [, label] of expr.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=|!=|!~)\s*"\$/g)) problems.push(`"${panel}" matches ${label} to a variable without =~`);
    }
    expect(problems).toEqual([]);
  });

  test('variable queries read only known series', () => {
    const problems = dashboard.templating.list
      .filter((variable) => variable.type === 'query')
      .flatMap((variable) => unknownSeries(labelValuesSelector(String(variable.query))).map((problem) => `$${variable.name}: ${problem}`));
    expect(problems).toEqual([]);
  });
});

describe('panel queries', () => {
  test('dashboardQueries() lists every target of every committed dashboard', () => {
    const committed = dashboards.flatMap(([, dashboard]) =>
      dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ dashboard: dashboard.uid, panel: panel.title ?? '', expr: target.expr ?? '' }))),
    );
    const key = (query: { dashboard: string; panel: string; expr: string }): string => JSON.stringify([query.dashboard, query.panel, query.expr]);
    expect(queries.map(key).sort()).toEqual(committed.map(key).sort());
    expect(queries.length).toBeGreaterThan(40);
  });

  test.each(queries.map((query) => [`${query.dashboard} / ${query.panel}`, query.expr] as const))('%s names only known series', (_name, expr) => {
    const { metrics } = analyse(expr);
    expect(metrics.length).toBeGreaterThan(0);
    expect(unknownSeries(expr)).toEqual([]);
  });

  test.each(queries.map((query) => [`${query.dashboard} / ${query.panel}`, query.expr] as const))(
    '%s reads counters and histograms only through rate()/increase()',
    (_name, expr) => {
      expect(rawCumulativeReads(expr)).toEqual([]);
    },
  );

  test('rates use $__rate_interval and increases use $__range', () => {
    const problems = queries.flatMap(({ panel, expr }) => [
      ...[...expr.matchAll(/\b(rate|irate)\([^[]*\[([^\]]*)\]/g)].filter((m) => m[2] !== '$__rate_interval').map(() => `${panel}: rate window`),
      ...[...expr.matchAll(/\bincrease\([^[]*\[([^\]]*)\]/g)].filter((m) => m[1] !== '$__range').map(() => `${panel}: increase window`),
    ]);
    expect(problems).toEqual([]);
  });

  test('quantiles come from histogram_quantile over the rate of _bucket series, grouped by le', () => {
    const quantileQueries = queries.filter(({ expr }) => expr.includes('histogram_quantile'));
    expect(quantileQueries.length).toBeGreaterThan(0);
    // The buckets of either set of names: {__name__=~"a_bucket|b_bucket", ...}.
    for (const { expr } of quantileQueries) expect(expr).toMatch(/histogram_quantile\([0-9.]+, sum by \(le(, [a-z_]+)*\) \(rate\(\{__name__=~"[a-z_]+_bucket(\|[a-z_]+_bucket)*"/);
  });
});

describe('the query checks catch what they are meant to catch', () => {
  const duration = PROM.operationDuration;
  test.each([
    [`sum(${duration.count})`, 'a raw counter sum'],
    [`sum by (le) (${duration.bucket}{job="x"})`, 'raw buckets'],
    [`histogram_quantile(0.9, sum by (le) (${duration.bucket}))`, 'a quantile over cumulative buckets'],
    [`rate(sum(${duration.count})[5m:])`, 'a rate of a subquery over a raw sum'],
    [`${PROM.cost} * 3600`, 'a raw counter in arithmetic'],
    [`max_over_time(${PROM.cost}[$__range])`, 'a counter read by another range function'],
  ])('flags %s (%s)', (expr) => {
    expect(rawCumulativeReads(expr).length).toBeGreaterThan(0);
  });

  test.each([
    [`sum(rate(${duration.count}[5m]))`],
    [`histogram_quantile(0.5, sum by (le, gen_ai_request_model) (rate(${duration.bucket}{a=~"$b"}[$__rate_interval])))`],
    [`sum(increase(${PROM.cost}{x="a(b"}[$__range])) / ignoring(error_type) group_left() sum(irate(${PROM.tokenDetail}[1m]))`],
    [`min by (gen_ai_provider_name) (${PROM.rateLimitRemaining} / ${PROM.rateLimitLimit})`],
  ])('accepts %s', (expr) => {
    expect(rawCumulativeReads(expr)).toEqual([]);
    expect(unknownSeries(expr)).toEqual([]);
  });

  test.each([
    ['rate(gen_ai_client_operation_duration_count[5m])', 'a name without its unit suffix'],
    ['sum(rate(genai_sidecar_cost_usd_total[5m]))', 'a misspelt counter'],
    ['sum by (le) (up)', 'a series nobody exports'],
    ['rat(genai_sidecar_client_cost_usd_total[5m])', 'an unknown function'],
    ['sum(rate(genai_sidecar_client_cost_usd_total[5m])', 'unbalanced parentheses'],
  ])('flags %s (%s)', (expr) => {
    expect(unknownSeries(expr).length).toBeGreaterThan(0);
  });

  test('label names in grouping clauses, matchers and strings are not series', () => {
    const { metrics } = analyse(
      `sum by (k8s_namespace_name, $header_label) (rate(${PROM.cost}{gen_ai_provider_name=~"openai|foo_total"}[$__rate_interval])) or on(instance) vector(0)`,
    );
    expect(metrics.map((metric) => metric.name)).toEqual([PROM.cost]);
  });
});

describe('provisioning', () => {
  const datasourceYaml = parseYaml(readRepoFile(DATASOURCE_PROVISIONING_PATH) ?? '') as {
    apiVersion: number;
    datasources: Array<{ uid: string; type: string; url: string; isDefault?: boolean }>;
  };
  const providerYaml = parseYaml(readRepoFile(DASHBOARD_PROVISIONING_PATH) ?? '') as {
    apiVersion: number;
    providers: Array<{ type: string; folder: string; options: { path: string } }>;
  };

  test('the datasource file provisions the default Prometheus under the uid the dashboards use', () => {
    expect(datasourceYaml.apiVersion).toBe(1);
    const prometheus = datasourceYaml.datasources.filter((datasource) => datasource.type === 'prometheus');
    expect(prometheus).toHaveLength(1);
    expect(prometheus[0]).toMatchObject({ uid: DATASOURCE_UID, url: 'http://prometheus:9090', isDefault: true });
    const defaults = dashboards.map(([, dashboard]) => dashboard.templating.list.find((variable) => variable.type === 'datasource')?.current?.value);
    expect(new Set(defaults)).toEqual(new Set([prometheus[0]!.uid]));
  });

  test('the dashboard provider loads the JSON files from disk into the GenAI folder', () => {
    expect(providerYaml.apiVersion).toBe(1);
    expect(providerYaml.providers).toHaveLength(1);
    expect(providerYaml.providers[0]).toMatchObject({ type: 'file', folder: 'GenAI', options: { path: expect.stringMatching(/^\/var\/lib\/grafana\/dashboards/) } });
  });
});
