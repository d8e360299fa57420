/**
 * collector-config.yaml, checked offline (there is no collector binary here; with one,
 * test/integration/otelcolBinary.test.ts runs `otelcol-contrib validate` as well).
 *
 * Each check is a pure function from the parsed config to a list of problems. The committed
 * file must pass every check, and for every check a table of mutants (small, realistic
 * mistakes applied to a copy of the file) proves the check can fail.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { METRICS } from '../../src/telemetry/names';
import { LABEL, labelName } from '../../src/telemetry/prometheusNames';

const CONFIG_FILE = path.resolve(__dirname, '../../collector-config.yaml');

/**
 * Component type names (the `type:` in each component's metadata.yaml) that exist in
 * otelcol-contrib 0.136.0, the version docker-compose.yaml runs. Source: the distribution's
 * builder manifest, open-telemetry/opentelemetry-collector-releases
 * distributions/otelcol-contrib/manifest.yaml (modules v0.136.0), with each type checked against
 * the component's metadata.yaml in open-telemetry/opentelemetry-collector(-contrib).
 * Processors are the full list; receivers, exporters and extensions are the ones a metrics
 * pipeline like this one plausibly uses. Adding a component to the config? Check its
 * metadata.yaml `type:` and add it here.
 */
const KNOWN_TYPES = {
  receivers: [
    'otlp', 'nop', 'prometheus', 'prometheusremotewrite', 'hostmetrics', 'filelog', 'kubeletstats', 'k8s_cluster',
    'k8s_events', 'k8sobjects', 'statsd', 'zipkin', 'jaeger', 'kafka', 'httpcheck', 'receiver_creator',
  ],
  processors: [
    'batch', 'memory_limiter', 'attributes', 'cumulativetodelta', 'coralogix', 'deltatocumulative', 'deltatorate',
    'filter', 'geoip', 'groupbyattrs', 'groupbytrace', 'interval', 'isolationforest', 'k8sattributes', 'logdedup',
    'experimental_metricsgeneration', 'metricstarttime', 'metricstransform', 'probabilistic_sampler', 'redaction',
    'remotetap', 'resourcedetection', 'resource', 'schema', 'span', 'sumologic', 'tail_sampling', 'transform',
  ],
  exporters: [
    'debug', 'nop', 'otlp', 'otlphttp', 'prometheus', 'prometheusremotewrite', 'file', 'loadbalancing', 'kafka',
  ],
  extensions: [
    'health_check', 'pprof', 'zpages', 'file_storage', 'basicauth', 'bearertokenauth', 'headers_setter',
    'oauth2client', 'k8s_observer', 'host_observer', 'docker_observer', 'opamp',
  ],
} as const;

type Kind = keyof typeof KNOWN_TYPES;
const KINDS = Object.keys(KNOWN_TYPES) as Kind[];

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

const prwSchema = z
  .object({
    endpoint: z.string(),
    add_metric_suffixes: z.boolean().optional(),
    resource_to_telemetry_conversion: z.object({ enabled: z.boolean().optional() }).optional(),
    retry_on_failure: z.object({ enabled: z.boolean().optional(), max_elapsed_time: z.string().optional() }).passthrough().optional(),
    remote_write_queue: z.object({ enabled: z.boolean().optional(), queue_size: z.number().optional(), num_consumers: z.number().optional() }).optional(),
    wal: z.object({ directory: z.string().optional(), buffer_size: z.number().optional(), truncate_frequency: z.string().optional() }).optional(),
  })
  .passthrough();

const telemetrySchema = z.object({
  metrics: z.object({
    level: z.string().optional(),
    readers: z.array(z.object({ pull: z.object({ exporter: z.object({ prometheus: z.object({ host: z.string(), port: z.number() }) }) }).optional() }).passthrough()).default([]),
  }),
});

function loadConfig(): CollectorConfig {
  const document = parseDocument(readFileSync(CONFIG_FILE, 'utf8'));
  if (document.errors.length > 0) throw new Error(`collector-config.yaml: ${document.errors.map((e) => e.message).join('; ')}`);
  return configSchema.parse(document.toJS());
}

const typeOf = (id: string): string => id.split('/')[0] ?? id;
const pipelines = (config: CollectorConfig) => Object.entries(config.service.pipelines);
const metricsPipeline = (config: CollectorConfig) => config.service.pipelines.metrics;

function transformGroups(config: CollectorConfig, id: string): StatementGroup[] {
  if (typeOf(id) !== 'transform') return [];
  return transformSchema.parse(config.processors[id] ?? {}).metric_statements;
}

const statementsOf = (config: CollectorConfig, id: string): string[] => transformGroups(config, id).flatMap((group) => group.statements);
const aggregates = (config: CollectorConfig, id: string): boolean =>
  AGGREGATING_TYPES.has(typeOf(id)) || statementsOf(config, id).some((s) => s.startsWith('aggregate_on_attribute'));

/** The allow-list: keys of the `keep_keys(datapoint.attributes, [...])` statement, and where it is. */
function allowList(config: CollectorConfig): { processor: string; keys: string[] } | undefined {
  for (const id of metricsPipeline(config)?.processors ?? []) {
    for (const statement of statementsOf(config, id)) {
      const match = /^keep_keys\(datapoint\.attributes,\s*\[([^\]]*)\]\)/.exec(statement);
      if (match) return { processor: id, keys: (match[1] ?? '').split(',').map((key) => key.trim().replace(/^"|"$/g, '')).filter(Boolean) };
    }
  }
  return undefined;
}

function prw(config: CollectorConfig): z.infer<typeof prwSchema> | undefined {
  const id = Object.keys(config.exporters).find((key) => typeOf(key) === 'prometheusremotewrite');
  return id === undefined ? undefined : prwSchema.parse(config.exporters[id] ?? {});
}

const endpointOf = (value: unknown): string | undefined => z.object({ endpoint: z.string() }).safeParse(value).data?.endpoint;

// ---- checks -------------------------------------------------------------------------------

type Check = (config: CollectorConfig) => string[];

const CHECKS: Record<string, Check> = {
  'every component a pipeline references is defined'(config) {
    const problems: string[] = [];
    for (const [name, pipeline] of pipelines(config)) {
      for (const id of pipeline.receivers) if (!(id in config.receivers) && !(id in config.connectors)) problems.push(`${name}: receiver ${id} is not defined`);
      for (const id of pipeline.processors) if (!(id in config.processors)) problems.push(`${name}: processor ${id} is not defined`);
      for (const id of pipeline.exporters) if (!(id in config.exporters) && !(id in config.connectors)) problems.push(`${name}: exporter ${id} is not defined`);
    }
    for (const id of config.service.extensions) if (!(id in config.extensions)) problems.push(`service.extensions: ${id} is not defined`);
    return problems;
  },

  'every defined component is used'(config) {
    const used = new Set([...pipelines(config).flatMap(([, p]) => [...p.receivers, ...p.processors, ...p.exporters]), ...config.service.extensions]);
    return KINDS.flatMap((kind) => Object.keys(config[kind]).filter((id) => !used.has(id)).map((id) => `${kind}.${id} is defined but never used`));
  },

  'every component type is a real otelcol-contrib component'(config) {
    return KINDS.flatMap((kind) =>
      Object.keys(config[kind])
        .filter((id) => !(KNOWN_TYPES[kind] as readonly string[]).includes(typeOf(id)))
        .map((id) => `${kind}.${id}: "${typeOf(id)}" is not a known ${kind.slice(0, -1)} type`),
    );
  },

  'the otlp receiver listens on 0.0.0.0:4318 (http) and 0.0.0.0:4317 (grpc)'(config) {
    const protocols = z.object({ protocols: z.object({ http: z.unknown(), grpc: z.unknown() }).partial() }).safeParse(config.receivers.otlp).data?.protocols;
    const problems: string[] = [];
    if (!metricsPipeline(config)?.receivers.includes('otlp')) problems.push('the metrics pipeline does not receive from otlp');
    if (endpointOf(protocols?.http) !== '0.0.0.0:4318') problems.push(`otlp http endpoint is ${endpointOf(protocols?.http)}, want 0.0.0.0:4318`);
    if (endpointOf(protocols?.grpc) !== '0.0.0.0:4317') problems.push(`otlp grpc endpoint is ${endpointOf(protocols?.grpc)}, want 0.0.0.0:4317`);
    return problems;
  },

  'memory_limiter is first, batch last, relabelling before any aggregation'(config) {
    const processors = metricsPipeline(config)?.processors ?? [];
    const problems: string[] = [];
    if (typeOf(processors[0] ?? '') !== 'memory_limiter') problems.push(`first processor is ${processors[0]}, want memory_limiter`);
    if (typeOf(processors[processors.length - 1] ?? '') !== 'batch') problems.push(`last processor is ${processors[processors.length - 1]}, want batch`);
    const firstAggregating = processors.findIndex((id) => aggregates(config, id));
    if (firstAggregating < 0) problems.push('no processor re-aggregates after attributes are dropped');
    processors.forEach((id, index) => {
      if (typeOf(id) === 'transform' && !aggregates(config, id) && index > firstAggregating) problems.push(`transform ${id} runs after aggregating processor ${processors[firstAggregating]}`);
    });
    // Inside the aggregating transform, attributes are dropped first and merged after.
    const statements = firstAggregating < 0 ? [] : statementsOf(config, processors[firstAggregating] ?? '');
    const keep = statements.findIndex((s) => s.startsWith('keep_keys('));
    const merge = statements.findIndex((s) => s.startsWith('aggregate_on_attributes('));
    if (keep >= 0 && merge >= 0 && merge < keep) problems.push('aggregate_on_attributes runs before keep_keys');
    return problems;
  },

  'attributes are dropped by allow-list and what remains is re-aggregated'(config) {
    const list = allowList(config);
    if (!list) return ['no keep_keys(datapoint.attributes, [...]) allow-list in the metrics pipeline'];
    const groups = transformGroups(config, list.processor);
    const problems: string[] = [];
    for (const wanted of ['METRIC_DATA_TYPE_SUM', 'METRIC_DATA_TYPE_HISTOGRAM']) {
      const merging = groups.flatMap((g) => g.statements).some((s) => /^aggregate_on_attributes\("sum"\)/.test(s) && s.includes(wanted));
      if (!merging) problems.push(`no aggregate_on_attributes("sum") for ${wanted} after the allow-list`);
    }
    if (!groups.flatMap((g) => g.statements).some((s) => s.startsWith('aggregate_on_attributes(') && s.includes('METRIC_DATA_TYPE_GAUGE'))) {
      problems.push('gauges are not re-aggregated after the allow-list');
    }
    // The allow-list and the aggregation must cover the same metrics, and all of the sidecar's.
    const scopes = new Set(groups.map((g) => g.conditions.join(' or ')));
    if (scopes.size !== 1) problems.push(`the keep_keys and aggregate groups apply to different metrics: ${[...scopes].join(' | ')}`);
    for (const scope of scopes) {
      const pattern = /IsMatch\(metric\.name, "([^"]+)"\)/.exec(scope)?.[1];
      const regex = pattern === undefined ? undefined : new RegExp(pattern);
      for (const metric of Object.values(METRICS)) {
        if (regex && !regex.test(metric.name)) problems.push(`${metric.name} is outside the allow-list's scope (${pattern})`);
      }
    }
    return problems;
  },

  'the allow-list keeps every label dashboards and alerts group by'(config) {
    const keys = allowList(config)?.keys ?? [];
    // job and instance come from the resource (service.name, service.instance.id), not from data points.
    return Object.entries(LABEL)
      .filter(([name]) => name !== 'job' && name !== 'instance')
      .filter(([, label]) => !keys.some((key) => labelName(key) === label))
      .map(([name, label]) => `LABEL.${name} (${label}) has no attribute on the allow-list`);
  },

  'namespace, workload and cluster are copied from the resource before the allow-list'(config) {
    const processors = metricsPipeline(config)?.processors ?? [];
    const list = allowList(config);
    const before = list ? processors.slice(0, processors.indexOf(list.processor)) : processors;
    const copies = before.flatMap((id) => statementsOf(config, id));
    return ['k8s.namespace.name', 'k8s.workload.name', 'k8s.cluster.name']
      .filter((key) => !copies.some((s) => s.startsWith(`set(datapoint.attributes["${key}"], resource.attributes["${key}"])`)))
      .map((key) => `${key} is not copied onto data points before the allow-list`);
  },

  'gen_ai.system is renamed to gen_ai.provider.name before the allow-list'(config) {
    const processors = metricsPipeline(config)?.processors ?? [];
    const list = allowList(config);
    const before = list ? processors.slice(0, processors.indexOf(list.processor)) : processors;
    const renamed = before
      .flatMap((id) => statementsOf(config, id))
      .some((s) => s.startsWith('set(datapoint.attributes["gen_ai.provider.name"], datapoint.attributes["gen_ai.system"])') && s.includes('["gen_ai.provider.name"] == nil'));
    return renamed ? [] : ['no rename of gen_ai.system to gen_ai.provider.name (when absent) before the allow-list'];
  },

  'the writer identity survives: service.* stay on the resource, conversion stays off'(config) {
    const problems: string[] = [];
    const statements = (metricsPipeline(config)?.processors ?? []).flatMap((id) => statementsOf(config, id));
    for (const statement of statements) {
      if (/^(delete_key|delete_matching_keys|keep_keys|keep_matching_keys|limit)\(resource\.attributes/.test(statement)) {
        problems.push(`"${statement}" may remove service.name / service.instance.id (job / instance)`);
      }
    }
    if (prw(config)?.resource_to_telemetry_conversion?.enabled === true) problems.push('resource_to_telemetry_conversion is on: every resource attribute becomes a label');
    return problems;
  },

  'prometheusremotewrite writes to Prometheus with retries, a queue and a WAL, default translation'(config) {
    const exporter = prw(config);
    if (!exporter) return ['no prometheusremotewrite exporter'];
    const problems: string[] = [];
    if (!metricsPipeline(config)?.exporters.some((id) => typeOf(id) === 'prometheusremotewrite')) problems.push('the metrics pipeline does not export with prometheusremotewrite');
    if (exporter.endpoint !== 'http://prometheus:9090/api/v1/write') problems.push(`endpoint is ${exporter.endpoint}`);
    if (exporter.retry_on_failure?.enabled !== true) problems.push('retry_on_failure is not enabled');
    if (exporter.remote_write_queue?.enabled !== true || !(Number(exporter.remote_write_queue.queue_size) > 0)) problems.push('remote_write_queue is not enabled with a queue_size');
    if (!exporter.wal?.directory?.startsWith('/')) problems.push('no wal.directory (an absolute path on a volume)');
    if (exporter.add_metric_suffixes === false) problems.push('add_metric_suffixes is off: series names would not match src/telemetry/prometheusNames.ts');
    if ('translation_strategy' in exporter || 'namespace' in exporter) problems.push('translation is changed: series names would not match src/telemetry/prometheusNames.ts');
    return problems;
  },

  'health_check is enabled on 0.0.0.0:13133'(config) {
    const id = Object.keys(config.extensions).find((key) => typeOf(key) === 'health_check');
    if (!id) return ['no health_check extension'];
    const problems: string[] = [];
    if (!config.service.extensions.includes(id)) problems.push(`${id} is not listed in service.extensions`);
    if (endpointOf(config.extensions[id]) !== '0.0.0.0:13133') problems.push(`${id} endpoint is ${endpointOf(config.extensions[id])}`);
    return problems;
  },

  "the collector's own metrics are served for Prometheus on 0.0.0.0:8888"(config) {
    const telemetry = telemetrySchema.safeParse(config.service.telemetry);
    if (!telemetry.success) return ['service.telemetry.metrics is missing or malformed'];
    const pull = telemetry.data.metrics.readers.map((reader) => reader.pull?.exporter.prometheus).find(Boolean);
    if (!pull) return ['no `readers: - pull: exporter: prometheus` in service.telemetry.metrics'];
    return pull.host === '0.0.0.0' && pull.port === 8888 ? [] : [`self-metrics served on ${pull.host}:${pull.port}, want 0.0.0.0:8888`];
  },

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

// ---- mutants ------------------------------------------------------------------------------

const record = (value: unknown): Record<string, unknown> => value as Record<string, unknown>;
const transformOf = (config: CollectorConfig, id: string) => record(config.processors[id]).metric_statements as Array<{ conditions?: string[]; statements: string[] }>;
const exporter = (config: CollectorConfig) => record(config.exporters.prometheusremotewrite);
const editStatements = (config: CollectorConfig, id: string, edit: (statement: string) => string | undefined): void => {
  for (const group of transformOf(config, id)) group.statements = group.statements.map(edit).filter((s): s is string => s !== undefined);
};
const pipelineProcessors = (config: CollectorConfig): string[] => metricsPipeline(config)?.processors ?? [];

type Mutant = [check: string, description: string, mutate: (config: CollectorConfig) => void];

const MUTANTS: Mutant[] = [
  ['every component a pipeline references is defined', 'a pipeline names an undefined processor', (c) => pipelineProcessors(c).splice(1, 0, 'filter/typo')],
  ['every component a pipeline references is defined', 'an extension is enabled but not defined', (c) => c.service.extensions.push('pprof')],
  ['every defined component is used', 'a processor is defined but not in the pipeline', (c) => (c.processors['filter/unused'] = {})],
  ['every defined component is used', 'an extension is defined but not enabled', (c) => (c.extensions.zpages = {})],
  ['every component type is a real otelcol-contrib component', 'a misspelled processor type', (c) => {
    c.processors['memorylimiter'] = c.processors.memory_limiter;
    delete c.processors.memory_limiter;
  }],
  ['every component type is a real otelcol-contrib component', 'an invented exporter type', (c) => (c.exporters['prometheus_remote_write'] = {})],
  ['the otlp receiver listens on 0.0.0.0:4318 (http) and 0.0.0.0:4317 (grpc)', 'http on loopback', (c) => (record(record(record(c.receivers.otlp).protocols).http).endpoint = 'localhost:4318')],
  ['the otlp receiver listens on 0.0.0.0:4318 (http) and 0.0.0.0:4317 (grpc)', 'no grpc', (c) => delete record(record(c.receivers.otlp).protocols).grpc],
  ['memory_limiter is first, batch last, relabelling before any aggregation', 'batch before the transforms', (c) => {
    const list = pipelineProcessors(c);
    list.splice(list.indexOf('batch'), 1);
    list.splice(1, 0, 'batch');
  }],
  ['memory_limiter is first, batch last, relabelling before any aggregation', 'memory_limiter not first', (c) => pipelineProcessors(c).reverse()],
  ['memory_limiter is first, batch last, relabelling before any aggregation', 'legacy renames after the aggregation', (c) => {
    const list = pipelineProcessors(c);
    list.splice(list.indexOf('transform/legacy_names'), 1);
    list.splice(list.length - 1, 0, 'transform/legacy_names');
  }],
  ['memory_limiter is first, batch last, relabelling before any aggregation', 'aggregation before keep_keys', (c) => transformOf(c, 'transform/allowlist').reverse()],
  ['attributes are dropped by allow-list and what remains is re-aggregated', 'keep_keys without re-aggregation', (c) => editStatements(c, 'transform/allowlist', (s) => (s.startsWith('aggregate_on_attributes("sum")') ? undefined : s))],
  ['attributes are dropped by allow-list and what remains is re-aggregated', 'no allow-list at all', (c) => editStatements(c, 'transform/allowlist', (s) => (s.startsWith('keep_keys') ? undefined : s))],
  ['attributes are dropped by allow-list and what remains is re-aggregated', 'the aggregation covers fewer metrics than the allow-list', (c) => {
    const groups = transformOf(c, 'transform/allowlist');
    const last = groups[groups.length - 1];
    if (last) last.conditions = ['IsMatch(metric.name, "^gen_ai[.]")'];
  }],
  ['attributes are dropped by allow-list and what remains is re-aggregated', "the scope misses the sidecar's own metrics", (c) => {
    for (const group of transformOf(c, 'transform/allowlist')) group.conditions = ['IsMatch(metric.name, "^gen_ai[.]")'];
  }],
  ['the allow-list keeps every label dashboards and alerts group by', 'error.type left off the allow-list', (c) => editStatements(c, 'transform/allowlist', (s) => s.replace('"error.type", ', ''))],
  ['the allow-list keeps every label dashboards and alerts group by', 'the workload left off the allow-list', (c) => editStatements(c, 'transform/allowlist', (s) => s.replace('"k8s.workload.name", ', ''))],
  ['namespace, workload and cluster are copied from the resource before the allow-list', 'the cluster is not copied', (c) => editStatements(c, 'transform/writer_labels', (s) => (s.includes('"k8s.cluster.name"], resource') ? undefined : s))],
  ['namespace, workload and cluster are copied from the resource before the allow-list', 'copied only after the allow-list', (c) => {
    const list = pipelineProcessors(c);
    list.splice(list.indexOf('transform/writer_labels'), 1);
    list.splice(list.length - 1, 0, 'transform/writer_labels');
  }],
  ['gen_ai.system is renamed to gen_ai.provider.name before the allow-list', 'no legacy rename', (c) => editStatements(c, 'transform/legacy_names', (s) => (s.includes('"gen_ai.system"]') ? undefined : s))],
  ['gen_ai.system is renamed to gen_ai.provider.name before the allow-list', 'the rename overwrites a present gen_ai.provider.name', (c) =>
    editStatements(c, 'transform/legacy_names', (s) => (s.includes('datapoint.attributes["gen_ai.system"])') ? 'set(datapoint.attributes["gen_ai.provider.name"], datapoint.attributes["gen_ai.system"])' : s)),
  ],
  ['the writer identity survives: service.* stay on the resource, conversion stays off', 'resource attributes trimmed', (c) => {
    transformOf(c, 'transform/writer_labels').push({ statements: ['keep_keys(resource.attributes, ["k8s.pod.name"])'] });
  }],
  ['the writer identity survives: service.* stay on the resource, conversion stays off', 'all resource attributes become labels', (c) => (exporter(c).resource_to_telemetry_conversion = { enabled: true })],
  ['prometheusremotewrite writes to Prometheus with retries, a queue and a WAL, default translation', 'no WAL', (c) => delete exporter(c).wal],
  ['prometheusremotewrite writes to Prometheus with retries, a queue and a WAL, default translation', 'retries off', (c) => (exporter(c).retry_on_failure = { enabled: false })],
  ['prometheusremotewrite writes to Prometheus with retries, a queue and a WAL, default translation', 'queue off', (c) => (exporter(c).remote_write_queue = { enabled: false })],
  ['prometheusremotewrite writes to Prometheus with retries, a queue and a WAL, default translation', 'suffixes off', (c) => (exporter(c).add_metric_suffixes = false)],
  ['prometheusremotewrite writes to Prometheus with retries, a queue and a WAL, default translation', 'wrong endpoint', (c) => (exporter(c).endpoint = 'http://prometheus:9090/api/v1/push')],
  ['health_check is enabled on 0.0.0.0:13133', 'defined but not enabled', (c) => (c.service.extensions = [])],
  ['health_check is enabled on 0.0.0.0:13133', 'on loopback', (c) => (record(c.extensions.health_check).endpoint = 'localhost:13133')],
  ["the collector's own metrics are served for Prometheus on 0.0.0.0:8888", 'old `address:` syntax', (c) => (c.service.telemetry = { metrics: { address: '0.0.0.0:8888' } })],
  ["the collector's own metrics are served for Prometheus on 0.0.0.0:8888", 'loopback only', (c) => {
    const metrics = record(record(c.service.telemetry).metrics);
    metrics.readers = [{ pull: { exporter: { prometheus: { host: '127.0.0.1', port: 8888 } } } }];
  }],
  ['OTTL statements are well formed', 'a missing bracket', (c) => editStatements(c, 'transform/legacy_names', (s) => s.replace('["gen_ai.token.type"]', '["gen_ai.token.type"'))],
  ['OTTL statements are well formed', 'a path without context prefix', (c) => editStatements(c, 'transform/legacy_names', (s) => s.replace('delete_key(datapoint.attributes', 'delete_key(attributes'))],
  ['OTTL statements are well formed', 'an unknown metric name', (c) => editStatements(c, 'transform/allowlist', (s) => s.replace('"genai_sidecar.ratelimit.reset"', '"genai_sidecar.ratelimit.resets"'))],
  ['OTTL statements are well formed', 'a misspelled enum', (c) => editStatements(c, 'transform/allowlist', (s) => s.replace('METRIC_DATA_TYPE_HISTOGRAM', 'METRIC_DATA_TYPE_HISTOGRAMS'))],
];

// ---- tests --------------------------------------------------------------------------------

const config = loadConfig();

test('collector-config.yaml parses as YAML without errors or duplicate keys', () => {
  const document = parseDocument(readFileSync(CONFIG_FILE, 'utf8'));
  expect(document.errors).toEqual([]);
  expect(document.warnings).toEqual([]);
});

test.each(Object.keys(CHECKS))('%s', (name) => {
  expect(CHECKS[name]?.(config)).toEqual([]);
});

test.each(MUTANTS)('check "%s" catches: %s', (check, _description, mutate) => {
  const mutated = structuredClone(config);
  mutate(mutated);
  expect(CHECKS[check]?.(mutated).length).toBeGreaterThan(0);
});

test('every check has at least one mutant that makes it fail', () => {
  const covered = new Set(MUTANTS.map(([check]) => check));
  expect(Object.keys(CHECKS).filter((name) => !covered.has(name))).toEqual([]);
});

test('the allow-list keeps nothing the sidecar does not produce or promote, except mapped headers', () => {
  // Dropping is the point: server.port and genai_sidecar.route must not become labels.
  const keys = allowList(config)?.keys ?? [];
  expect(keys).not.toContain('server.port');
  expect(keys).not.toContain('genai_sidecar.route');
  expect(new Set(keys).size).toBe(keys.length);
});
