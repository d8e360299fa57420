/**
 * The two shipped collector configs, checked offline: collector-config.yaml (the writer tier,
 * OTLP in, Prometheus remote write out) and collector/router-config.yaml (the routing tier in
 * front of the writers). Both run on otelcol-genai 0.161.0, this project's own collector build
 * (collector/builder-config.yaml); test/integration/collectorBuild.test.ts runs its `validate` on
 * every shipped config, so component names and option spelling are the binary's to judge. What
 * is checked here is what `validate` cannot see: that the pipeline does what the config's
 * comments promise and what dashboards, alerts and src/telemetry/ rely on.
 *
 * Each check is a pure function from the parsed config to a list of problems. The committed
 * files must pass every check, and for every check a table of mutants (small, realistic
 * mistakes applied to a copy of the parsed file) proves the check can fail.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { METRICS, type MetricDefinition } from '../../src/telemetry/names';
import { LABEL, labelName } from '../../src/telemetry/prometheusNames';
import { GAUGE_MERGE, KEPT_ATTRIBUTES, PROMOTED_RESOURCE_ATTRIBUTES } from '../../src/telemetry/scrapeView';
import { collectorEnv } from '../helpers/k8sRules';

const WRITER_FILE = path.resolve(__dirname, '../../collector-config.yaml');
const ROUTER_FILE = path.resolve(__dirname, '../../collector/router-config.yaml');

const KINDS = ['receivers', 'processors', 'exporters', 'extensions', 'connectors'] as const;

/** Processors that combine data points; relabelling must happen before them. */
const AGGREGATING_TYPES = new Set(['metricstransform', 'interval', 'deltatocumulative', 'cumulativetodelta', 'groupbyattrs']);

const components = z.record(z.string(), z.unknown());
const pipelineSchema = z.object({
  receivers: z.array(z.string()).min(1),
  processors: z.array(z.string()).default([]),
  exporters: z.array(z.string()).min(1),
});
const configSchema = z.object({
  receivers: components,
  processors: components.default({}),
  exporters: components,
  extensions: components.default({}),
  connectors: components.default({}),
  service: z.object({
    extensions: z.array(z.string()).default([]),
    pipelines: z.record(z.string(), pipelineSchema),
    telemetry: z.unknown().optional(),
  }),
});
type CollectorConfig = z.infer<typeof configSchema>;

const statementGroup = z.union([
  z.string().transform((statement) => ({ conditions: [] as string[], statements: [statement] })),
  z.object({ context: z.string().optional(), conditions: z.array(z.string()).default([]), statements: z.array(z.string()) }),
]);
const transformSchema = z.object({ error_mode: z.string().optional(), metric_statements: z.array(statementGroup).default([]) }).passthrough();
type StatementGroup = { conditions: string[]; statements: string[] };

const duration = z.union([z.string(), z.number()]);
const prwSchema = z
  .object({
    http: z.object({ endpoint: z.string().optional(), timeout: duration.optional() }).passthrough().optional(),
    timeout: duration.optional(),
    retry_on_failure: z.object({ enabled: z.boolean().optional(), max_elapsed_time: duration.optional() }).passthrough().optional(),
    remote_write_queue: z.object({ enabled: z.boolean().optional(), queue_size: z.number().optional() }).passthrough().optional(),
    translation_strategy: z.string().optional(),
    target_info: z.object({ enabled: z.boolean().optional() }).passthrough().optional(),
    disable_scope_info: z.boolean().optional(),
  })
  .passthrough();

const loadBalancingSchema = z
  .object({
    routing_key: z.string().optional(),
    protocol: z.object({
      otlp: z.object({ sending_queue: z.object({ num_consumers: z.number().optional() }).passthrough().optional() }).passthrough(),
    }),
    resolver: z.object({ dns: z.object({ hostname: z.string(), port: z.unknown().optional() }).passthrough().optional() }).passthrough(),
  })
  .passthrough();

const telemetrySchema = z.object({
  metrics: z.object({
    level: z.string().optional(),
    readers: z
      .array(
        z
          .object({
            pull: z
              .object({
                exporter: z.object({
                  prometheus: z.object({ host: z.string(), port: z.number(), without_units: z.boolean().optional(), without_type_suffix: z.boolean().optional() }).passthrough(),
                }),
              })
              .optional(),
          })
          .passthrough(),
      )
      .default([]),
  }),
});

function loadConfig(file: string): CollectorConfig {
  // `<<` merge keys, as the collector reads them (the native exporter shares the main one's settings).
  const document = parseDocument(readFileSync(file, 'utf8'), { merge: true });
  if (document.errors.length > 0) throw new Error(`${path.basename(file)}: ${document.errors.map((e) => e.message).join('; ')}`);
  return configSchema.parse(document.toJS());
}

const typeOf = (id: string): string => id.split('/')[0] ?? id;
const pipelines = (config: CollectorConfig) => Object.entries(config.service.pipelines);
const metricsPipeline = (config: CollectorConfig) => config.service.pipelines.metrics;
const endpointOf = (value: unknown): string | undefined => z.object({ endpoint: z.string() }).safeParse(value).data?.endpoint;
const portOf = (endpoint: string | undefined): string | undefined => endpoint?.split(':').pop();

function transformGroups(config: CollectorConfig, id: string): StatementGroup[] {
  if (typeOf(id) !== 'transform') return [];
  return transformSchema.parse(config.processors[id] ?? {}).metric_statements;
}

const statementsOf = (config: CollectorConfig, id: string): string[] => transformGroups(config, id).flatMap((group) => group.statements);
const aggregates = (config: CollectorConfig, id: string): boolean =>
  AGGREGATING_TYPES.has(typeOf(id)) || statementsOf(config, id).some((s) => s.startsWith('aggregate_on_attributes'));

/** The first processor of the metrics pipeline that merges data points (transform/allowlist). */
const aggregatingProcessor = (config: CollectorConfig): string | undefined => (metricsPipeline(config)?.processors ?? []).find((id) => aggregates(config, id));

/** The processors that run before the aggregation (all of them when nothing aggregates). */
function beforeAggregation(config: CollectorConfig): string[] {
  const processors = metricsPipeline(config)?.processors ?? [];
  const aggregating = aggregatingProcessor(config);
  return aggregating === undefined ? processors : processors.slice(0, processors.indexOf(aggregating));
}

// ---- reading OTTL -------------------------------------------------------------------------

/** One editor call: `fn(arg, arg ...) where condition`, arguments as written. */
interface Call {
  fn: string;
  args: string[];
  where: string | undefined;
}

/** Splits `text` at `separator` outside quotes, brackets and parentheses. */
function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '\\') i++;
      else if (char === '"') quoted = false;
    } else if (char === '"') quoted = true;
    else if (char === '(' || char === '[') depth++;
    else if (char === ')' || char === ']') depth--;
    else if (depth === 0 && text.startsWith(separator, i)) {
      parts.push(text.slice(start, i));
      start = i + separator.length;
      i += separator.length - 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((part) => part.trim());
}

function parseCall(statement: string): Call | undefined {
  const fn = /^(\w+)\(/.exec(statement)?.[1];
  if (fn === undefined) return undefined;
  const [call, ...where] = splitTopLevel(statement, ' where ');
  if (!call?.endsWith(')') || where.length > 1) return undefined;
  const inner = call.slice(fn.length + 1, -1).trim();
  return { fn, args: inner === '' ? [] : splitTopLevel(inner, ','), where: where[0] };
}

/** A literal list argument (`["a", "b"]`, `[1.0, 4.0]`), or undefined when it is not one. */
function literalList<T extends z.ZodTypeAny>(arg: string | undefined, item: T): Array<z.infer<T>> | undefined {
  if (!arg?.startsWith('[')) return undefined;
  try {
    return z.array(item).safeParse(JSON.parse(arg)).data;
  } catch {
    return undefined;
  }
}

type MetricType = 'GAUGE' | 'SUM' | 'HISTOGRAM' | 'EXPONENTIAL_HISTOGRAM' | 'SUMMARY';
interface Metric {
  name: string;
  type: MetricType;
  /** OTLP unit; undefined when the clause under test does not depend on it. */
  unit?: string;
}

/**
 * Evaluates a where clause made of `metric.name` / `metric.type` / `metric.unit` comparisons joined by `and` /
 * `or` (and binding tighter) for one metric; undefined when the clause holds anything else.
 */
function holds(where: string | undefined, metric: Metric): boolean | undefined {
  if (where === undefined) return true;
  const alternatives = splitTopLevel(where, ' or ').map((alternative) =>
    splitTopLevel(alternative, ' and ').map((comparison) => {
      const match = /^metric\.(name|type|unit) (==|!=) (?:"([^"]*)"|METRIC_DATA_TYPE_(\w+))$/.exec(comparison);
      if (!match) return undefined;
      const [, field, op, text, type] = match;
      const actual = field === 'name' ? metric.name : field === 'unit' ? metric.unit : metric.type;
      const expected = field === 'type' ? type : text;
      if (actual === undefined) return undefined;
      if (expected === undefined) return undefined;
      return op === '==' ? actual === expected : actual !== expected;
    }),
  );
  if (alternatives.flat().some((value) => value === undefined)) return undefined;
  return alternatives.some((comparisons) => comparisons.every(Boolean));
}

/** Whether a group's conditions (OR-ed, as the transform processor does) select a metric name. */
function inScope(group: StatementGroup, name: string): boolean | undefined {
  if (group.conditions.length === 0) return true;
  const results = group.conditions.map((condition) => {
    const pattern = /^IsMatch\(metric\.name, "([^"]+)"\)$/.exec(condition)?.[1];
    return pattern === undefined ? undefined : new RegExp(pattern).test(name);
  });
  return results.some((result) => result === undefined) ? undefined : results.some(Boolean);
}

/** Statements of one processor in execution order, each with the group it belongs to. */
const orderedStatements = (config: CollectorConfig, id: string) =>
  transformGroups(config, id).flatMap((group) => group.statements.map((statement) => ({ group, statement, call: parseCall(statement) })));

/** Every key list the allow-list is given in: each aggregate_on_attributes and keep_keys(datapoint.attributes) call. */
function allowLists(config: CollectorConfig): Array<{ statement: string; keys: string[] | undefined }> {
  return (metricsPipeline(config)?.processors ?? []).flatMap((id) =>
    orderedStatements(config, id)
      .filter(({ call }) => call?.fn === 'aggregate_on_attributes' || (call?.fn === 'keep_keys' && call.args[0] === 'datapoint.attributes'))
      .map(({ statement, call }) => ({ statement, keys: literalList(call?.fn === 'keep_keys' ? call.args[1] : call?.args[1], z.string()) })),
  );
}

const TYPE_OF_KIND: Record<MetricDefinition['kind'], MetricType> = { counter: 'SUM', histogram: 'HISTOGRAM', gauge: 'GAUGE' };
const OWN_METRICS: Metric[] = Object.values(METRICS).map((metric) => ({ name: metric.name, type: TYPE_OF_KIND[metric.kind] }));
/** In-scope metrics of other instrumentations (names the sidecar does not produce). */
const OTHER_GEN_AI: Metric[] = [
  { name: 'gen_ai.server.request.duration', type: 'HISTOGRAM' },
  { name: 'gen_ai.example.requests', type: 'SUM' },
  { name: 'gen_ai.example.in_flight', type: 'GAUGE' },
];
/** A metric the allow-list must leave alone. */
const OUT_OF_SCOPE = 'http.client.request.duration';

/** How each gauge is merged: the least headroom, the latest reset (the sidecar's /metrics merges the same way). */
const GAUGE_FUNCTION = GAUGE_MERGE;
/** The header attribute the shipped config lists as its example of `--header-attribute x-tenant-id=tenant`. */
const EXAMPLE_HEADER_ATTRIBUTES = ['tenant'];

// ---- reading the exporter -----------------------------------------------------------------

const GO_DURATION_UNITS: Record<string, number> = { ns: 1e-9, us: 1e-6, 'µs': 1e-6, 'μs': 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** A Go duration (`10s`, `15m`, `1h30m`, `0`) in seconds, or undefined when it is not one. */
function goDuration(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  const sign = text.startsWith('-') ? -1 : 1;
  const body = text.replace(/^[+-]/, '');
  if (body === '0') return 0;
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;
  if (body === '' || body.replace(part, '') !== '') return undefined;
  let seconds = 0;
  for (const [, amount, unit] of body.matchAll(part)) seconds += Number(amount) * (GO_DURATION_UNITS[unit ?? ''] ?? Number.NaN);
  return Number.isNaN(seconds) ? undefined : sign * seconds;
}

type PrwConfig = z.infer<typeof prwSchema>;
const PRW_TYPE = 'prometheus_remote_write';

function prw(config: CollectorConfig): { id: string; exporter: PrwConfig | undefined } | undefined {
  const id = Object.keys(config.exporters).find((key) => typeOf(key) === PRW_TYPE);
  return id === undefined ? undefined : { id, exporter: prwSchema.safeParse(config.exporters[id] ?? {}).data };
}

/** Runs `check` on the remote-write exporter, or reports that there is none to check. */
function withExporter(config: CollectorConfig, check: (exporter: PrwConfig) => string[]): string[] {
  const found = prw(config);
  if (!found) return [`no ${PRW_TYPE} exporter`];
  return found.exporter ? check(found.exporter) : [`exporters.${found.id} is malformed`];
}

/** The self-metrics reader both tiers share (src/telemetry/collectorNames.ts assumes it). */
function selfMetricsProblems(config: CollectorConfig): string[] {
  const telemetry = telemetrySchema.safeParse(config.service.telemetry);
  if (!telemetry.success) return ['service.telemetry.metrics is missing or malformed'];
  const pull = telemetry.data.metrics.readers.map((reader) => reader.pull?.exporter.prometheus).find(Boolean);
  if (!pull) return ['no `readers: - pull: exporter: prometheus` in service.telemetry.metrics'];
  const problems: string[] = [];
  if (pull.host !== '0.0.0.0' || pull.port !== 8888) problems.push(`self-metrics served on ${pull.host}:${pull.port}, want 0.0.0.0:8888`);
  if (pull.without_units !== true) problems.push('without_units is not true: names would grow unit suffixes src/telemetry/collectorNames.ts does not have');
  if (pull.without_type_suffix !== true) problems.push('without_type_suffix is not true: counters would grow `_total`, unlike src/telemetry/collectorNames.ts');
  return problems;
}

// ---- checks shared by both tiers ----------------------------------------------------------

type Check = (config: CollectorConfig) => string[];

const everyReferenceDefined: Check = (config) => {
  const problems: string[] = [];
  for (const [name, pipeline] of pipelines(config)) {
    for (const id of pipeline.receivers) if (!(id in config.receivers) && !(id in config.connectors)) problems.push(`${name}: receiver ${id} is not defined`);
    for (const id of pipeline.processors) if (!(id in config.processors)) problems.push(`${name}: processor ${id} is not defined`);
    for (const id of pipeline.exporters) if (!(id in config.exporters) && !(id in config.connectors)) problems.push(`${name}: exporter ${id} is not defined`);
  }
  for (const id of config.service.extensions) if (!(id in config.extensions)) problems.push(`service.extensions: ${id} is not defined`);
  return problems;
};

const everyComponentUsed: Check = (config) => {
  const used = new Set([...pipelines(config).flatMap(([, p]) => [...p.receivers, ...p.processors, ...p.exporters]), ...config.service.extensions]);
  return KINDS.flatMap((kind) => Object.keys(config[kind]).filter((id) => !used.has(id)).map((id) => `${kind}.${id} is defined but never used`));
};

const memoryLimiterFirst = (config: CollectorConfig): string[] => {
  const first = metricsPipeline(config)?.processors[0];
  return typeOf(first ?? '') === 'memory_limiter' ? [] : [`first processor is ${first}, want memory_limiter`];
};

// ---- writer checks (collector-config.yaml) ------------------------------------------------

const CHECKS: Record<string, Check> = {
  'every component a pipeline references is defined': everyReferenceDefined,

  'every defined component is used': everyComponentUsed,

  'the otlp receiver listens on 0.0.0.0:4318 (http) and 0.0.0.0:4317 (grpc)'(config) {
    const protocols = z.object({ protocols: z.object({ http: z.unknown(), grpc: z.unknown() }).partial() }).safeParse(config.receivers.otlp).data?.protocols;
    const problems: string[] = [];
    if (!metricsPipeline(config)?.receivers.includes('otlp')) problems.push('the metrics pipeline does not receive from otlp');
    if (endpointOf(protocols?.http) !== '0.0.0.0:4318') problems.push(`otlp http endpoint is ${endpointOf(protocols?.http)}, want 0.0.0.0:4318`);
    if (endpointOf(protocols?.grpc) !== '0.0.0.0:4317') problems.push(`otlp grpc endpoint is ${endpointOf(protocols?.grpc)}, want 0.0.0.0:4317`);
    return problems;
  },

  'memory_limiter is first, relabelling runs before the aggregating transform'(config) {
    const processors = metricsPipeline(config)?.processors ?? [];
    const problems = memoryLimiterFirst(config);
    const aggregating = aggregatingProcessor(config);
    if (aggregating === undefined) return [...problems, 'no processor re-aggregates after attributes are dropped'];
    const firstAggregating = processors.indexOf(aggregating);
    processors.forEach((id, index) => {
      if (typeOf(id) === 'transform' && !aggregates(config, id) && index > firstAggregating) problems.push(`transform ${id} runs after aggregating processor ${aggregating}`);
    });
    return problems;
  },

  'no batch processor: data is acknowledged only once the exporter has queued it'(config) {
    const inPipelines = pipelines(config).flatMap(([name, p]) => p.processors.filter((id) => typeOf(id) === 'batch').map((id) => `${name}: processor ${id} acknowledges data before it is exported`));
    const defined = Object.keys(config.processors).filter((id) => typeOf(id) === 'batch').map((id) => `processors.${id} is defined`);
    return [...inPipelines, ...defined];
  },

  "every aggregate_on_attributes call and the summaries' keep_keys name the same allow-list"(config) {
    const lists = allowLists(config);
    const problems: string[] = [];
    if (!lists.some((list) => list.statement.startsWith('aggregate_on_attributes('))) problems.push('no aggregate_on_attributes call');
    if (!lists.some((list) => list.statement.startsWith('keep_keys('))) problems.push('no keep_keys(datapoint.attributes, [...]) for what cannot be aggregated');
    for (const list of lists) if (list.keys === undefined) problems.push(`"${list.statement}" has no literal key list: it would filter nothing`);
    const distinct = new Set(lists.filter((list) => list.keys !== undefined).map((list) => JSON.stringify([...(list.keys ?? [])].sort())));
    if (distinct.size > 1) problems.push(`the allow-list differs between statements: ${[...distinct].join(' | ')}`);
    return problems;
  },

  'the allow-list keeps every label dashboards and alerts group by'(config) {
    const lists = allowLists(config);
    if (lists.length === 0) return ['no allow-list'];
    // job and instance come from the resource (service.name, service.instance.id), not from data points.
    const wanted = Object.entries(LABEL).filter(([name]) => name !== 'job' && name !== 'instance');
    return lists.flatMap(({ statement, keys }) =>
      wanted.filter(([, label]) => !(keys ?? []).some((key) => labelName(key) === label)).map(([name, label]) => `LABEL.${name} (${label}) is not kept by "${statement.slice(0, 40)}..."`),
    );
  },

  "the allow-list is the one the sidecar's /metrics applies (src/telemetry/scrapeView.ts), plus the example header attribute"(config) {
    const wanted = [...KEPT_ATTRIBUTES, ...EXAMPLE_HEADER_ATTRIBUTES].sort();
    return allowLists(config)
      .filter(({ keys }) => keys !== undefined && JSON.stringify([...keys].sort()) !== JSON.stringify(wanted))
      .map(({ statement, keys = [] }) => `"${statement.slice(0, 40)}..." keeps [${keys.join(', ')}], the sidecar's view keeps [${wanted.join(', ')}]`);
  },

  'namespace, workload and cluster are promoted as the sidecar promotes them'(config) {
    const copied = transformGroups(config, 'transform/writer_labels').flatMap((group) => group.statements);
    return PROMOTED_RESOURCE_ATTRIBUTES.filter((key) => !copied.some((s) => s.startsWith(`set(datapoint.attributes["${key}"], resource.attributes["${key}"])`))).map(
      (key) => `${key} is promoted by the sidecar's /metrics but not copied onto data points here`,
    );
  },

  'the allow-list drops server.port and genai_sidecar.route and names each key once'(config) {
    // Dropping is the point: these would multiply series without a dashboard asking for them.
    return allowLists(config).flatMap(({ statement, keys = [] }) => [
      ...['server.port', 'genai_sidecar.route'].filter((key) => keys.includes(key)).map((key) => `${key} is kept by "${statement.slice(0, 40)}..."`),
      ...keys.filter((key, index) => keys.indexOf(key) !== index).map((key) => `${key} is listed twice in "${statement.slice(0, 40)}..."`),
    ]);
  },

  'sums and histograms are summed once, rate-limit gauges take min (remaining, limit) or max (reset)'(config) {
    const aggregating = aggregatingProcessor(config);
    if (aggregating === undefined) return ['no aggregating transform'];
    const statements = orderedStatements(config, aggregating).filter(({ call }) => call?.fn === 'aggregate_on_attributes');
    const problems: string[] = [];
    for (const metric of [...OWN_METRICS, ...OTHER_GEN_AI]) {
      const applying = statements.filter(({ group, call }) => {
        const selected = inScope(group, metric.name) && holds(call?.where, metric);
        if (selected === undefined) problems.push(`cannot read the scope or where clause of "${call?.fn}(...) where ${call?.where}"`);
        return selected === true;
      });
      const fns = applying.map(({ call }) => literalList(`[${call?.args[0] ?? ''}]`, z.string())?.[0]);
      const want: string[] = metric.type === 'GAUGE' ? [GAUGE_FUNCTION[metric.name] ?? 'min', GAUGE_FUNCTION[metric.name] ?? 'max'] : ['sum'];
      if (fns.length !== 1) problems.push(`${metric.name} (${metric.type}) is aggregated ${fns.length} times, want once`);
      for (const fn of fns) if (fn === undefined || !want.includes(fn)) problems.push(`${metric.name} (${metric.type}) is aggregated with ${fn}, want ${[...new Set(want)].join(' or ')}`);
    }
    const summaries = orderedStatements(config, aggregating).filter(
      ({ group, call }) => call?.fn === 'keep_keys' && inScope(group, METRICS.tokenUsage.name) === true && holds(call.where, { name: METRICS.tokenUsage.name, type: 'SUMMARY' }) === true,
    );
    if (summaries.length === 0) problems.push('summaries are neither aggregated nor trimmed to the allow-list');
    return [...new Set(problems)];
  },

  'exponential histograms take a pipeline and a remote-write queue of their own, untouched by the allow-list'(config) {
    const problems: string[] = [];
    const filterDrops = (id: string, condition: string): boolean =>
      typeOf(id) === 'filter' && z.object({ metrics: z.object({ metric: z.array(z.string()) }) }).safeParse(config.processors[id]).data?.metrics.metric.includes(condition) === true;
    const main = metricsPipeline(config);
    const mainProcessors = main?.processors ?? [];
    const aggregating = aggregatingProcessor(config);
    const apart = mainProcessors.findIndex((id) => filterDrops(id, 'type == METRIC_DATA_TYPE_EXPONENTIAL_HISTOGRAM'));
    if (apart < 0) problems.push('the metrics pipeline does not drop exponential histograms (a filter on type == METRIC_DATA_TYPE_EXPONENTIAL_HISTOGRAM)');
    else if (aggregating !== undefined && apart > mainProcessors.indexOf(aggregating)) problems.push('exponential histograms are dropped only after the aggregation');
    const native = pipelines(config).filter(([, pipeline]) => pipeline.processors.some((id) => filterDrops(id, 'type != METRIC_DATA_TYPE_EXPONENTIAL_HISTOGRAM')));
    if (native.length !== 1) problems.push(`want one pipeline of exponential histograms only, found ${native.length}`);
    for (const [name, pipeline] of native) {
      if (!pipeline.receivers.every((id) => main?.receivers.includes(id))) problems.push(`${name} receives from other receivers than the metrics pipeline`);
      if (aggregating !== undefined && pipeline.processors.includes(aggregating)) problems.push(`${name} runs the allow-list, which would merge points it cannot merge`);
      const shared = pipeline.exporters.filter((id) => main?.exporters.includes(id));
      if (shared.length > 0) problems.push(`${name} shares ${shared.join(', ')} (and its queue) with the metrics pipeline`);
      for (const id of pipeline.exporters) {
        if (typeOf(id) !== 'prometheus_remote_write') continue;
        const own = prwSchema.safeParse(config.exporters[id]).data;
        const first = prw(config)?.exporter;
        if (own?.http?.endpoint !== first?.http?.endpoint || own?.timeout !== first?.timeout) problems.push(`${id} is not set up like the main exporter (endpoint, timeout)`);
      }
    }
    // Its output at this release puts a value one bucket too low and has no +Inf bucket.
    for (const id of Object.keys(config.processors)) {
      if (statementsOf(config, id).some((statement) => statement.startsWith('convert_exponential_histogram_to_histogram('))) problems.push(`${id} converts exponential histograms (miscounted at 0.161)`);
    }
    return problems;
  },

  'every group of the aggregating transform has the one scope, covering every gen_ai/genai_sidecar metric and nothing else'(config) {
    const aggregating = aggregatingProcessor(config);
    if (aggregating === undefined) return ['no aggregating transform'];
    const groups = transformGroups(config, aggregating);
    const problems: string[] = [];
    const scopes = new Set(groups.map((g) => g.conditions.join(' or ')));
    if (scopes.size !== 1) problems.push(`the groups of ${aggregating} apply to different metrics: ${[...scopes].join(' | ')}`);
    for (const group of groups) {
      if (group.conditions.length === 0) problems.push(`a group of ${aggregating} has no scope: it rewrites every metric`);
      for (const metric of Object.values(METRICS)) {
        const selected = inScope(group, metric.name);
        if (selected !== true) problems.push(`${metric.name} is outside the scope ${group.conditions.join(' or ')}`);
      }
      if (inScope(group, OUT_OF_SCOPE) !== false) problems.push(`${OUT_OF_SCOPE} (another instrumentation's metric) is inside the scope ${group.conditions.join(' or ')}`);
    }
    return [...new Set(problems)];
  },

  'namespace, workload and cluster are copied from the resource before the allow-list'(config) {
    const copies = beforeAggregation(config).flatMap((id) => statementsOf(config, id));
    return ['k8s.namespace.name', 'k8s.workload.name', 'k8s.cluster.name']
      .filter((key) => !copies.some((s) => s.startsWith(`set(datapoint.attributes["${key}"], resource.attributes["${key}"])`)))
      .map((key) => `${key} is not copied onto data points before the allow-list`);
  },

  'gen_ai.system is renamed to gen_ai.provider.name before the allow-list'(config) {
    const renamed = beforeAggregation(config)
      .flatMap((id) => statementsOf(config, id))
      .some((s) => s.startsWith('set(datapoint.attributes["gen_ai.provider.name"], datapoint.attributes["gen_ai.system"])') && s.includes('["gen_ai.provider.name"] == nil'));
    return renamed ? [] : ['no rename of gen_ai.system to gen_ai.provider.name (when absent) before the allow-list'];
  },

  'the writer identity survives: service.* stay on the resource, a missing instance id comes from the pod name'(config) {
    const problems: string[] = [];
    const statements = (metricsPipeline(config)?.processors ?? []).flatMap((id) => statementsOf(config, id));
    for (const statement of statements) {
      if (/^(delete_key|delete_matching_keys|keep_keys|keep_matching_keys|limit)\(resource\.attributes/.test(statement)) {
        problems.push(`"${statement}" may remove service.name / service.instance.id (job / instance)`);
      }
      if (/^set\(resource\.attributes\["service\.(name|instance\.id)"\]/.test(statement) && !statement.includes('where resource.attributes["service.instance.id"] == nil')) {
        problems.push(`"${statement}" overwrites the writer's identity`);
      }
    }
    const fallback = statements.some(
      (s) => s.startsWith('set(resource.attributes["service.instance.id"], resource.attributes["k8s.pod.name"])') && s.includes('where resource.attributes["service.instance.id"] == nil'),
    );
    if (!fallback) problems.push('no fallback from k8s.pod.name for a writer without service.instance.id');
    return problems;
  },

  [`${PRW_TYPE} exports the metrics pipeline to http://prometheus:9090/api/v1/write`](config) {
    return withExporter(config, (exporter) => {
      const problems: string[] = [];
      if (!metricsPipeline(config)?.exporters.some((id) => typeOf(id) === PRW_TYPE)) problems.push(`the metrics pipeline does not export with ${PRW_TYPE}`);
      // With GENAI_REMOTE_WRITE_ENDPOINT unset (docker-compose.yaml, k8s/); k8s/overlays/thanos sets it to Thanos Receive.
      if (collectorEnv(exporter.http?.endpoint ?? '', undefined) !== 'http://prometheus:9090/api/v1/write') problems.push(`http.endpoint is ${exporter.http?.endpoint}`);
      if ('endpoint' in exporter) problems.push('a top-level endpoint (the old layout); it belongs under http:');
      return problems;
    });
  },

  'no write-ahead log (it acknowledged data on disk, reordered it and re-sent rejected batches forever)'(config) {
    return withExporter(config, (exporter) => ('wal' in exporter ? ['wal: is present'] : []));
  },

  'retries outlast no deadline: retry_on_failure on, timeout >= max_elapsed_time'(config) {
    return withExporter(config, (exporter) => {
      const problems: string[] = [];
      if (exporter.retry_on_failure?.enabled !== true) problems.push('retry_on_failure is not enabled');
      const retries = goDuration(exporter.retry_on_failure?.max_elapsed_time);
      const timeout = goDuration(exporter.timeout);
      if (retries === undefined) problems.push(`retry_on_failure.max_elapsed_time is ${exporter.retry_on_failure?.max_elapsed_time}, want a Go duration`);
      else if (retries <= 0) problems.push('retry_on_failure.max_elapsed_time is 0: retries without end, cut off by timeout');
      if (timeout === undefined) problems.push(`timeout is ${exporter.timeout}, want a Go duration covering the retries (the default 10s ends them early)`);
      if (retries !== undefined && timeout !== undefined && timeout < retries) problems.push(`timeout ${exporter.timeout} ends retries before max_elapsed_time ${exporter.retry_on_failure?.max_elapsed_time}`);
      return problems;
    });
  },

  'remote_write_queue is on and bounded, without num_consumers'(config) {
    return withExporter(config, (exporter) => {
      const queue = exporter.remote_write_queue;
      const problems: string[] = [];
      if (queue?.enabled !== true) problems.push('remote_write_queue is not enabled');
      if (!(Number(queue?.queue_size) > 0)) problems.push(`remote_write_queue.queue_size is ${queue?.queue_size}, want > 0`);
      if (queue && 'num_consumers' in queue) problems.push('remote_write_queue.num_consumers is set: its meaning depends on a feature gate (parallelism is max_batch_request_parallelism)');
      return problems;
    });
  },

  'series names are what src/telemetry/prometheusNames.ts derives (UnderscoreEscapingWithSuffixes)'(config) {
    return withExporter(config, (exporter) => {
      const problems: string[] = [];
      if (exporter.translation_strategy !== 'UnderscoreEscapingWithSuffixes') problems.push(`translation_strategy is ${exporter.translation_strategy}, want UnderscoreEscapingWithSuffixes`);
      if ('add_metric_suffixes' in exporter) problems.push('add_metric_suffixes is set (deprecated; translation_strategy decides)');
      if ('namespace' in exporter) problems.push('namespace is set: it would prefix every series name');
      return problems;
    });
  },

  'labels: no resource attributes as labels, no scope labels, target_info on'(config) {
    return withExporter(config, (exporter) => {
      const problems: string[] = [];
      if ('resource_to_telemetry_conversion' in exporter) problems.push('resource_to_telemetry_conversion is set: every resource attribute would become a label');
      if ('resource_constant_labels' in exporter) problems.push('resource_constant_labels is set');
      if (exporter.disable_scope_info !== true) problems.push('disable_scope_info is not true: otel_scope_* labels would start new series on every sidecar upgrade');
      if (exporter.target_info?.enabled !== true) problems.push('target_info is not enabled: resource attributes would be unreachable');
      return problems;
    });
  },

  'health_check is enabled on 0.0.0.0:13133'(config) {
    const id = Object.keys(config.extensions).find((key) => typeOf(key) === 'health_check');
    if (!id) return ['no health_check extension'];
    const problems: string[] = [];
    if (!config.service.extensions.includes(id)) problems.push(`${id} is not listed in service.extensions`);
    if (endpointOf(config.extensions[id]) !== '0.0.0.0:13133') problems.push(`${id} endpoint is ${endpointOf(config.extensions[id])}`);
    return problems;
  },

  "the collector's own metrics are served on 0.0.0.0:8888 without unit and type suffixes": selfMetricsProblems,

  'OTTL statements are well formed'(config) {
    const problems: string[] = [];
    const knownFunctions = new Set(['set', 'delete_key', 'keep_keys', 'aggregate_on_attributes']);
    const metricNames = new Set<string>(Object.values(METRICS).map((metric) => metric.name));
    for (const id of metricsPipeline(config)?.processors ?? []) {
      for (const group of transformGroups(config, id)) {
        for (const text of [...group.conditions, ...group.statements]) {
          const where = `${id}: ${text}`;
          const unquoted = text.replace(/"(?:[^"\\]|\\.)*"/g, '""');
          if ((text.match(/(?<!\\)"/g) ?? []).length % 2 !== 0) problems.push(`${where}: unbalanced quotes`);
          for (const [open, close] of [['(', ')'], ['[', ']']] as const) {
            if (unquoted.split(open).length !== unquoted.split(close).length) problems.push(`${where}: unbalanced ${open}${close}`);
          }
          if (/(?<![.\w])attributes\b/.test(unquoted)) problems.push(`${where}: attributes without a context prefix (datapoint. / resource.)`);
          const enums = unquoted.match(/\bMETRIC_DATA_TYPE_\w+/g) ?? [];
          for (const name of enums) if (!/^METRIC_DATA_TYPE_(GAUGE|SUM|HISTOGRAM|EXPONENTIAL_HISTOGRAM|SUMMARY)$/.test(name)) problems.push(`${where}: unknown enum ${name}`);
          for (const [, name] of text.matchAll(/metric\.name [!=]= "([^"]+)"/g)) if (name && !metricNames.has(name)) problems.push(`${where}: no metric named ${name}`);
        }
        for (const statement of group.statements) {
          const fn = /^(\w+)\(/.exec(statement)?.[1];
          if (!fn || !knownFunctions.has(fn)) problems.push(`${id}: "${statement}" does not start with a known editor (${[...knownFunctions].join(', ')})`);
        }
      }
    }
    return problems;
  },
};

// ---- router checks (collector/router-config.yaml) -----------------------------------------

/** A router check also sees the writer config, whose ports the router must dial. */
type RouterCheck = (router: CollectorConfig, writer: CollectorConfig) => string[];

function withLoadBalancing(config: CollectorConfig, check: (exporter: z.infer<typeof loadBalancingSchema>) => string[]): string[] {
  const id = Object.keys(config.exporters).find((key) => typeOf(key) === 'load_balancing');
  if (id === undefined) return ['no load_balancing exporter'];
  const parsed = loadBalancingSchema.safeParse(config.exporters[id]);
  return parsed.success ? check(parsed.data) : [`exporters.${id} is malformed: ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')}`];
}

const ROUTER_CHECKS: Record<string, RouterCheck> = {
  'every component a pipeline references is defined': (router) => everyReferenceDefined(router),

  'every defined component is used': (router) => everyComponentUsed(router),

  'memory_limiter is the first processor': (router) => memoryLimiterFirst(router),

  'load_balancing exports the metrics pipeline, keyed on the resource'(router) {
    return withLoadBalancing(router, (exporter) => {
      const problems: string[] = [];
      if (!metricsPipeline(router)?.exporters.some((id) => typeOf(id) === 'load_balancing')) problems.push('the metrics pipeline does not export with load_balancing');
      if (exporter.routing_key !== 'resource') problems.push(`routing_key is ${exporter.routing_key}, want resource (one writer per sidecar)`);
      return problems;
    });
  },

  'one consumer per writer: protocol.otlp.sending_queue.num_consumers is 1'(router) {
    return withLoadBalancing(router, (exporter) => {
      const consumers = exporter.protocol.otlp.sending_queue?.num_consumers;
      return consumers === 1 ? [] : [`protocol.otlp.sending_queue.num_consumers is ${consumers ?? 'unset (default 10)'}: a retried export could land after a newer one`];
    });
  },

  "the DNS resolver names the writers' Service in the cluster and their OTLP gRPC port"(router, writer) {
    return withLoadBalancing(router, (exporter) => {
      const dns = exporter.resolver.dns;
      if (!dns) return ['no dns resolver'];
      const problems: string[] = [];
      if (!dns.hostname.endsWith('.svc.cluster.local')) problems.push(`resolver hostname ${dns.hostname} does not end with .svc.cluster.local`);
      const grpc = z.object({ protocols: z.object({ grpc: z.unknown() }) }).safeParse(writer.receivers.otlp).data?.protocols.grpc;
      const writerPort = portOf(endpointOf(grpc));
      if (writerPort === undefined) problems.push("the writer config's otlp receiver has no grpc endpoint");
      if (typeof dns.port !== 'string') problems.push(`resolver port is ${JSON.stringify(dns.port)}, want a string`);
      else if (writerPort !== undefined && dns.port !== writerPort) problems.push(`resolver port is ${JSON.stringify(dns.port)}, the writers listen for OTLP/gRPC on ${writerPort}`);
      return problems;
    });
  },

  "the collector's own metrics are served on 0.0.0.0:8888 without unit and type suffixes": (router) => selfMetricsProblems(router),
};

// ---- mutants ------------------------------------------------------------------------------

const record = (value: unknown): Record<string, unknown> => value as Record<string, unknown>;
const transformOf = (config: CollectorConfig, id: string) => record(config.processors[id]).metric_statements as Array<{ conditions?: string[]; statements: string[] }>;
const remoteWrite = (config: CollectorConfig) => record(config.exporters[PRW_TYPE]);
const queueOf = (config: CollectorConfig) => record(remoteWrite(config).remote_write_queue);
const retryOf = (config: CollectorConfig) => record(remoteWrite(config).retry_on_failure);
const editStatements = (config: CollectorConfig, id: string, edit: (statement: string) => string | undefined): void => {
  for (const group of transformOf(config, id)) group.statements = group.statements.map(edit).filter((s): s is string => s !== undefined);
};
const editAllowList = (config: CollectorConfig, edit: (statement: string) => string | undefined) => editStatements(config, 'transform/allowlist', edit);
const pipelineProcessors = (config: CollectorConfig): string[] => metricsPipeline(config)?.processors ?? [];
const moveToEnd = (config: CollectorConfig, id: string): void => {
  const list = pipelineProcessors(config);
  list.splice(list.indexOf(id), 1);
  list.push(id);
};
const telemetryReader = (config: CollectorConfig) => {
  const readers = record(record(config.service.telemetry).metrics).readers as Array<{ pull: { exporter: { prometheus: Record<string, unknown> } } }>;
  return readers[0]?.pull.exporter.prometheus ?? {};
};
const loadBalancing = (config: CollectorConfig) => record(config.exporters.load_balancing);
const dnsOf = (config: CollectorConfig) => record(record(loadBalancing(config).resolver).dns);
const otlpSendingQueue = (config: CollectorConfig) => record(record(record(loadBalancing(config).protocol).otlp).sending_queue);

type Mutant = [check: string, description: string, mutate: (config: CollectorConfig) => void];

const MUTANTS: Mutant[] = [
  ['every component a pipeline references is defined', 'a pipeline names an undefined processor', (c) => pipelineProcessors(c).splice(1, 0, 'filter/typo')],
  ['every component a pipeline references is defined', 'an extension is enabled but not defined', (c) => c.service.extensions.push('pprof')],
  ['every component a pipeline references is defined', 'the pipeline still names the exporter by its old id', (c) => (metricsPipeline(c)!.exporters = ['prometheusremotewrite'])],
  ['every defined component is used', 'a processor is defined but not in the pipeline', (c) => (c.processors['filter/unused'] = {})],
  ['every defined component is used', 'an extension is defined but not enabled', (c) => (c.extensions.zpages = {})],
  ['every defined component is used', 'a connector is defined but joins no pipelines', (c) => (c.connectors.forward = {})],
  ['the otlp receiver listens on 0.0.0.0:4318 (http) and 0.0.0.0:4317 (grpc)', 'http on loopback', (c) => (record(record(record(c.receivers.otlp).protocols).http).endpoint = 'localhost:4318')],
  ['the otlp receiver listens on 0.0.0.0:4318 (http) and 0.0.0.0:4317 (grpc)', 'no grpc', (c) => delete record(record(c.receivers.otlp).protocols).grpc],
  ['memory_limiter is first, relabelling runs before the aggregating transform', 'memory_limiter not first', (c) => moveToEnd(c, 'memory_limiter')],
  ['memory_limiter is first, relabelling runs before the aggregating transform', 'legacy renames after the aggregation', (c) => moveToEnd(c, 'transform/legacy_names')],
  ['memory_limiter is first, relabelling runs before the aggregating transform', 'the aggregating transform left out of the pipeline', (c) => pipelineProcessors(c).pop()],
  ['no batch processor: data is acknowledged only once the exporter has queued it', 'batch back at the end', (c) => {
    c.processors.batch = {};
    pipelineProcessors(c).push('batch');
  }],
  ['no batch processor: data is acknowledged only once the exporter has queued it', 'batch right after memory_limiter', (c) => {
    c.processors['batch/metrics'] = { send_batch_size: 8192 };
    pipelineProcessors(c).splice(1, 0, 'batch/metrics');
  }],
  ["every aggregate_on_attributes call and the summaries' keep_keys name the same allow-list", 'a call without its key list', (c) =>
    editAllowList(c, (s) => s.replace(/^aggregate_on_attributes\("min", \[[^\]]*\]\)/, 'aggregate_on_attributes("min")')),
  ],
  ["every aggregate_on_attributes call and the summaries' keep_keys name the same allow-list", 'a key dropped from one list only', (c) =>
    editAllowList(c, (s) => (s.startsWith('aggregate_on_attributes("max"') ? s.replace(', "tenant"', '') : s)),
  ],
  ["every aggregate_on_attributes call and the summaries' keep_keys name the same allow-list", 'a header attribute added to the summaries only', (c) =>
    editAllowList(c, (s) => (s.startsWith('keep_keys(') ? s.replace('"tenant"', '"tenant", "team"') : s)),
  ],
  ["every aggregate_on_attributes call and the summaries' keep_keys name the same allow-list", 'summaries no longer trimmed', (c) => editAllowList(c, (s) => (s.startsWith('keep_keys(') ? undefined : s))],
  ["the allow-list is the one the sidecar's /metrics applies (src/telemetry/scrapeView.ts), plus the example header attribute", 'a key added to every list', (c) =>
    editAllowList(c, (s) => s.replace('"tenant"', '"tenant", "gen_ai.agent.name"')),
  ],
  ["the allow-list is the one the sidecar's /metrics applies (src/telemetry/scrapeView.ts), plus the example header attribute", 'the cluster dropped from every list', (c) =>
    editAllowList(c, (s) => s.replace('"k8s.cluster.name",', '')),
  ],
  ['namespace, workload and cluster are promoted as the sidecar promotes them', 'the cluster not copied', (c) =>
    editStatements(c, 'transform/writer_labels', (s) => (s.startsWith('set(datapoint.attributes["k8s.cluster.name"]') ? undefined : s)),
  ],
  ['the allow-list keeps every label dashboards and alerts group by', 'error.type left off the allow-list', (c) => editAllowList(c, (s) => s.replace('"error.type", ', ''))],
  ['the allow-list keeps every label dashboards and alerts group by', 'the workload left off the allow-list', (c) => editAllowList(c, (s) => s.replace('"k8s.workload.name", ', ''))],
  ['the allow-list drops server.port and genai_sidecar.route and names each key once', 'server.port kept', (c) => editAllowList(c, (s) => s.replace('"server.address",', '"server.address", "server.port",'))],
  ['the allow-list drops server.port and genai_sidecar.route and names each key once', 'the route kept', (c) => editAllowList(c, (s) => s.replace('"tenant"', '"tenant", "genai_sidecar.route"'))],
  ['the allow-list drops server.port and genai_sidecar.route and names each key once', 'a key listed twice', (c) => editAllowList(c, (s) => s.replace('"tenant"', '"tenant", "tenant"'))],
  ['sums and histograms are summed once, rate-limit gauges take min (remaining, limit) or max (reset)', 'gauges summed', (c) => editAllowList(c, (s) => s.replace('aggregate_on_attributes("min"', 'aggregate_on_attributes("sum"'))],
  ['sums and histograms are summed once, rate-limit gauges take min (remaining, limit) or max (reset)', 'histograms left out', (c) => editAllowList(c, (s) => s.replace(' or metric.type == METRIC_DATA_TYPE_HISTOGRAM', ''))],
  ['sums and histograms are summed once, rate-limit gauges take min (remaining, limit) or max (reset)', 'min and max swapped', (c) =>
    editAllowList(c, (s) => s.replace(/^aggregate_on_attributes\("(min|max)"/, (_m, fn: string) => `aggregate_on_attributes("${fn === 'min' ? 'max' : 'min'}"`)),
  ],
  ['sums and histograms are summed once, rate-limit gauges take min (remaining, limit) or max (reset)', 'the reset gauge aggregated twice', (c) => editAllowList(c, (s) => s.replace(' and metric.name != "genai_sidecar.ratelimit.reset"', ''))],
  ['sums and histograms are summed once, rate-limit gauges take min (remaining, limit) or max (reset)', 'summaries trimmed under the wrong type', (c) => editAllowList(c, (s) => s.replace('METRIC_DATA_TYPE_SUMMARY', 'METRIC_DATA_TYPE_GAUGE'))],
  ['exponential histograms take a pipeline and a remote-write queue of their own, untouched by the allow-list', 'the main pipeline keeps them', (c) => {
    const list = pipelineProcessors(c);
    list.splice(list.indexOf('filter/no_native'), 1);
  }],
  ['exponential histograms take a pipeline and a remote-write queue of their own, untouched by the allow-list', 'they share the main queue', (c) => (c.service.pipelines['metrics/native']!.exporters = ['prometheus_remote_write'])],
  ['exponential histograms take a pipeline and a remote-write queue of their own, untouched by the allow-list', 'the allow-list merges them', (c) => c.service.pipelines['metrics/native']!.processors.push('transform/allowlist')],
  ['exponential histograms take a pipeline and a remote-write queue of their own, untouched by the allow-list', 'no pipeline of their own', (c) => delete c.service.pipelines['metrics/native']],
  ['exponential histograms take a pipeline and a remote-write queue of their own, untouched by the allow-list', 'their exporter with a short timeout', (c) => (record(c.exporters['prometheus_remote_write/native']).timeout = '10s')],
  ['exponential histograms take a pipeline and a remote-write queue of their own, untouched by the allow-list', 'converted with the miscounting function', (c) =>
    transformOf(c, 'transform/allowlist')[0]!.statements.unshift('convert_exponential_histogram_to_histogram("upper", [0.01, 0.02]) where metric.type == METRIC_DATA_TYPE_EXPONENTIAL_HISTOGRAM'),
  ],
  ['every group of the aggregating transform has the one scope, covering every gen_ai/genai_sidecar metric and nothing else', 'the summaries scoped differently', (c) => {
    transformOf(c, 'transform/allowlist')[1]!.conditions = ['IsMatch(metric.name, "^gen_ai[.]")'];
  }],
  ['every group of the aggregating transform has the one scope, covering every gen_ai/genai_sidecar metric and nothing else', "the scope misses the sidecar's own metrics", (c) => {
    for (const group of transformOf(c, 'transform/allowlist')) group.conditions = ['IsMatch(metric.name, "^gen_ai[.]")'];
  }],
  ['every group of the aggregating transform has the one scope, covering every gen_ai/genai_sidecar metric and nothing else', 'a group without a scope', (c) => delete transformOf(c, 'transform/allowlist')[1]!.conditions],
  ['every group of the aggregating transform has the one scope, covering every gen_ai/genai_sidecar metric and nothing else', 'an unanchored scope', (c) => {
    for (const group of transformOf(c, 'transform/allowlist')) group.conditions = ['IsMatch(metric.name, "gen_ai|genai_sidecar|duration")'];
  }],
  ['namespace, workload and cluster are copied from the resource before the allow-list', 'the cluster is not copied', (c) => editStatements(c, 'transform/writer_labels', (s) => (s.includes('"k8s.cluster.name"], resource') ? undefined : s))],
  ['namespace, workload and cluster are copied from the resource before the allow-list', 'copied only after the allow-list', (c) => moveToEnd(c, 'transform/writer_labels')],
  ['gen_ai.system is renamed to gen_ai.provider.name before the allow-list', 'no legacy rename', (c) => editStatements(c, 'transform/legacy_names', (s) => (s.includes('"gen_ai.system"]') ? undefined : s))],
  ['gen_ai.system is renamed to gen_ai.provider.name before the allow-list', 'the rename overwrites a present gen_ai.provider.name', (c) =>
    editStatements(c, 'transform/legacy_names', (s) => (s.includes('datapoint.attributes["gen_ai.system"])') ? 'set(datapoint.attributes["gen_ai.provider.name"], datapoint.attributes["gen_ai.system"])' : s)),
  ],
  ['the writer identity survives: service.* stay on the resource, a missing instance id comes from the pod name', 'resource attributes trimmed', (c) => {
    transformOf(c, 'transform/writer_labels').push({ statements: ['keep_keys(resource.attributes, ["k8s.pod.name"])'] });
  }],
  ['the writer identity survives: service.* stay on the resource, a missing instance id comes from the pod name', 'no fallback for a missing instance id', (c) =>
    editStatements(c, 'transform/writer_labels', (s) => (s.startsWith('set(resource.attributes["service.instance.id"]') ? undefined : s)),
  ],
  ['the writer identity survives: service.* stay on the resource, a missing instance id comes from the pod name', 'the pod name overwrites every instance id', (c) =>
    editStatements(c, 'transform/writer_labels', (s) => (s.startsWith('set(resource.attributes["service.instance.id"]') ? 'set(resource.attributes["service.instance.id"], resource.attributes["k8s.pod.name"])' : s)),
  ],
  [`${PRW_TYPE} exports the metrics pipeline to http://prometheus:9090/api/v1/write`, 'the endpoint at the top level (the old layout)', (c) => {
    remoteWrite(c).endpoint = 'http://prometheus:9090/api/v1/write';
    delete record(remoteWrite(c).http).endpoint;
  }],
  [`${PRW_TYPE} exports the metrics pipeline to http://prometheus:9090/api/v1/write`, 'wrong path', (c) => (record(remoteWrite(c).http).endpoint = 'http://prometheus:9090/api/v1/push')],
  [`${PRW_TYPE} exports the metrics pipeline to http://prometheus:9090/api/v1/write`, 'the pipeline exports elsewhere', (c) => {
    c.exporters.debug = {};
    metricsPipeline(c)!.exporters = ['debug'];
  }],
  ['no write-ahead log (it acknowledged data on disk, reordered it and re-sent rejected batches forever)', 'a WAL on a volume', (c) => (remoteWrite(c).wal = { directory: '/var/lib/otelcol/wal' })],
  ['no write-ahead log (it acknowledged data on disk, reordered it and re-sent rejected batches forever)', 'an empty `wal:` key', (c) => (remoteWrite(c).wal = null)],
  ['retries outlast no deadline: retry_on_failure on, timeout >= max_elapsed_time', 'retries off', (c) => (retryOf(c).enabled = false)],
  ['retries outlast no deadline: retry_on_failure on, timeout >= max_elapsed_time', 'timeout left at its default', (c) => delete remoteWrite(c).timeout],
  ['retries outlast no deadline: retry_on_failure on, timeout >= max_elapsed_time', 'timeout shorter than the retries', (c) => (remoteWrite(c).timeout = '5m')],
  ['retries outlast no deadline: retry_on_failure on, timeout >= max_elapsed_time', 'retries raised, timeout not', (c) => (retryOf(c).max_elapsed_time = '1h')],
  ['retries outlast no deadline: retry_on_failure on, timeout >= max_elapsed_time', 'retries without end', (c) => (retryOf(c).max_elapsed_time = '0s')],
  ['retries outlast no deadline: retry_on_failure on, timeout >= max_elapsed_time', 'not a Go duration', (c) => (remoteWrite(c).timeout = '15 minutes')],
  ['remote_write_queue is on and bounded, without num_consumers', 'queue off', (c) => (queueOf(c).enabled = false)],
  ['remote_write_queue is on and bounded, without num_consumers', 'no room', (c) => (queueOf(c).queue_size = 0)],
  ['remote_write_queue is on and bounded, without num_consumers', 'num_consumers spelled out', (c) => (queueOf(c).num_consumers = 1)],
  ['series names are what src/telemetry/prometheusNames.ts derives (UnderscoreEscapingWithSuffixes)', 'another strategy', (c) => (remoteWrite(c).translation_strategy = 'NoUTF8EscapingWithSuffixes')],
  ['series names are what src/telemetry/prometheusNames.ts derives (UnderscoreEscapingWithSuffixes)', 'the deprecated option instead', (c) => {
    delete remoteWrite(c).translation_strategy;
    remoteWrite(c).add_metric_suffixes = true;
  }],
  ['series names are what src/telemetry/prometheusNames.ts derives (UnderscoreEscapingWithSuffixes)', 'a namespace prefix', (c) => (remoteWrite(c).namespace = 'genai')],
  ['labels: no resource attributes as labels, no scope labels, target_info on', 'all resource attributes become labels', (c) => (remoteWrite(c).resource_to_telemetry_conversion = { enabled: true })],
  ['labels: no resource attributes as labels, no scope labels, target_info on', 'constant labels from the resource', (c) => (remoteWrite(c).resource_constant_labels = ['service.version'])],
  ['labels: no resource attributes as labels, no scope labels, target_info on', 'scope labels back', (c) => (remoteWrite(c).disable_scope_info = false)],
  ['labels: no resource attributes as labels, no scope labels, target_info on', 'target_info off', (c) => (remoteWrite(c).target_info = { enabled: false })],
  ['health_check is enabled on 0.0.0.0:13133', 'defined but not enabled', (c) => (c.service.extensions = [])],
  ['health_check is enabled on 0.0.0.0:13133', 'on loopback', (c) => (record(c.extensions.health_check).endpoint = 'localhost:13133')],
  ["the collector's own metrics are served on 0.0.0.0:8888 without unit and type suffixes", 'old `address:` syntax', (c) => (c.service.telemetry = { metrics: { address: '0.0.0.0:8888' } })],
  ["the collector's own metrics are served on 0.0.0.0:8888 without unit and type suffixes", 'loopback only', (c) => (telemetryReader(c).host = '127.0.0.1')],
  ["the collector's own metrics are served on 0.0.0.0:8888 without unit and type suffixes", 'unit suffixes left to the default', (c) => delete telemetryReader(c).without_units],
  ["the collector's own metrics are served on 0.0.0.0:8888 without unit and type suffixes", '_total back', (c) => (telemetryReader(c).without_type_suffix = false)],
  ['OTTL statements are well formed', 'a missing bracket', (c) => editStatements(c, 'transform/legacy_names', (s) => s.replace('["gen_ai.token.type"]', '["gen_ai.token.type"'))],
  ['OTTL statements are well formed', 'a path without context prefix', (c) => editStatements(c, 'transform/legacy_names', (s) => s.replace('delete_key(datapoint.attributes', 'delete_key(attributes'))],
  ['OTTL statements are well formed', 'an unknown metric name', (c) => editAllowList(c, (s) => s.replace('"genai_sidecar.ratelimit.reset"', '"genai_sidecar.ratelimit.resets"'))],
  ['OTTL statements are well formed', 'a misspelled enum', (c) => editAllowList(c, (s) => s.replace('METRIC_DATA_TYPE_HISTOGRAM', 'METRIC_DATA_TYPE_HISTOGRAMS'))],
  ['OTTL statements are well formed', 'a misspelled function', (c) => editAllowList(c, (s) => s.replace('aggregate_on_attributes("sum"', 'aggregate_on_attribute("sum"'))],
];

type RouterMutant = [check: string, description: string, mutate: (router: CollectorConfig, writer: CollectorConfig) => void];

const ROUTER_MUTANTS: RouterMutant[] = [
  ['every component a pipeline references is defined', 'the pipeline names the exporter by its old id', (r) => (metricsPipeline(r)!.exporters = ['loadbalancing'])],
  ['every defined component is used', 'a processor defined but not in the pipeline', (r) => (r.processors.batch = {})],
  ['memory_limiter is the first processor', 'a processor ahead of memory_limiter', (r) => {
    r.processors.batch = {};
    pipelineProcessors(r).unshift('batch');
  }],
  ['memory_limiter is the first processor', 'no processors', (r) => (metricsPipeline(r)!.processors = [])],
  ['load_balancing exports the metrics pipeline, keyed on the resource', 'routing on the stream', (r) => (loadBalancing(r).routing_key = 'streamID')],
  ['load_balancing exports the metrics pipeline, keyed on the resource', 'routing key left to the default', (r) => delete loadBalancing(r).routing_key],
  ['load_balancing exports the metrics pipeline, keyed on the resource', 'the pipeline bypasses it', (r) => {
    r.exporters.otlp = { endpoint: 'otel-collector-writer:4317' };
    metricsPipeline(r)!.exporters = ['otlp'];
  }],
  ['one consumer per writer: protocol.otlp.sending_queue.num_consumers is 1', 'several consumers', (r) => (otlpSendingQueue(r).num_consumers = 10)],
  ['one consumer per writer: protocol.otlp.sending_queue.num_consumers is 1', 'left to the default', (r) => delete otlpSendingQueue(r).num_consumers],
  ["the DNS resolver names the writers' Service in the cluster and their OTLP gRPC port", 'an unquoted port', (r) => (dnsOf(r).port = 4317)],
  ["the DNS resolver names the writers' Service in the cluster and their OTLP gRPC port", "the writers' HTTP port", (r) => (dnsOf(r).port = '4318')],
  ["the DNS resolver names the writers' Service in the cluster and their OTLP gRPC port", 'a short hostname', (r) => (dnsOf(r).hostname = 'otel-collector-writer')],
  ["the DNS resolver names the writers' Service in the cluster and their OTLP gRPC port", 'the writers move their gRPC port, the routers do not follow', (_r, w) =>
    (record(record(record(w.receivers.otlp).protocols).grpc).endpoint = '0.0.0.0:4320'),
  ],
  ["the collector's own metrics are served on 0.0.0.0:8888 without unit and type suffixes", 'loopback only', (r) => (telemetryReader(r).host = '127.0.0.1')],
  ["the collector's own metrics are served on 0.0.0.0:8888 without unit and type suffixes", 'unit suffixes back', (r) => (telemetryReader(r).without_units = false)],
];

// ---- tests --------------------------------------------------------------------------------

const writer = loadConfig(WRITER_FILE);
const router = loadConfig(ROUTER_FILE);

test.each([WRITER_FILE, ROUTER_FILE].map((file) => [path.relative(path.resolve(__dirname, '../..'), file), file]))(
  '%s parses as YAML without errors, warnings or duplicate keys',
  (_name, file) => {
    const document = parseDocument(readFileSync(file, 'utf8'));
    expect(document.errors).toEqual([]);
    expect(document.warnings).toEqual([]);
  },
);

test('goDuration reads Go durations', () => {
  expect([goDuration('10s'), goDuration('15m'), goDuration('1h'), goDuration('1h30m'), goDuration('250ms'), goDuration('0'), goDuration(0)]).toEqual([10, 900, 3600, 5400, 0.25, 0, 0]);
  expect([goDuration('15'), goDuration('15 minutes'), goDuration('m'), goDuration(''), goDuration(undefined)]).toEqual([undefined, undefined, undefined, undefined, undefined]);
});

describe('collector-config.yaml (the writer tier)', () => {
  test.each(Object.keys(CHECKS))('%s', (name) => {
    expect(CHECKS[name]?.(writer)).toEqual([]);
  });

  test.each(MUTANTS)('check "%s" catches: %s', (check, _description, mutate) => {
    const mutated = structuredClone(writer);
    mutate(mutated);
    expect(CHECKS[check]?.(mutated).length).toBeGreaterThan(0);
  });

  test('every check has at least one mutant that makes it fail', () => {
    const covered = new Set(MUTANTS.map(([check]) => check));
    expect(Object.keys(CHECKS).filter((name) => !covered.has(name))).toEqual([]);
  });
});

describe('collector/router-config.yaml (the routing tier)', () => {
  test.each(Object.keys(ROUTER_CHECKS))('%s', (name) => {
    expect(ROUTER_CHECKS[name]?.(router, writer)).toEqual([]);
  });

  test.each(ROUTER_MUTANTS)('check "%s" catches: %s', (check, _description, mutate) => {
    const mutatedRouter = structuredClone(router);
    const mutatedWriter = structuredClone(writer);
    mutate(mutatedRouter, mutatedWriter);
    expect(ROUTER_CHECKS[check]?.(mutatedRouter, mutatedWriter).length).toBeGreaterThan(0);
  });

  test('every check has at least one mutant that makes it fail', () => {
    const covered = new Set(ROUTER_MUTANTS.map(([check]) => check));
    expect(Object.keys(ROUTER_CHECKS).filter((name) => !covered.has(name))).toEqual([]);
  });
});
