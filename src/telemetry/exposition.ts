/**
 * The Prometheus text format (0.0.4) and OpenMetrics (1.0.0) for `/metrics`, from metric families
 * already named and labelled as Prometheus stores them (see scrapeView.ts); the protobuf format
 * is in expositionProto.ts.
 *
 * Written here rather than taken from a library: @opentelemetry/exporter-prometheus (0.223) adds
 * no unit suffixes (`_seconds`), so its names differ from what the collector path writes and every
 * dashboard would miss them, and it serves no OpenMetrics; prom-client serializes only its own
 * instruments, which cannot take the SDK's cumulative bucket counts. Both formats are checked
 * against a real Prometheus scraping each one (test/integration/pullEndpoint.test.ts).
 */
import Negotiator from 'negotiator';
import { exposeProtobuf } from './expositionProto';
import { PageWriter, SlicePool } from './slicePool';

export type ExpositionFormat = 'text' | 'openmetrics' | 'protobuf';

export const CONTENT_TYPE: Readonly<Record<ExpositionFormat, string>> = {
  text: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
  protobuf: 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited',
};

/**
 * A series' labels, as pairs (protobuf) and rendered for the text formats. The scrape view keeps
 * one object per label set from one scrape to the next, so each encoding is made once and kept
 * on it.
 */
export interface LabelSet {
  /** Sorted by name. */
  readonly pairs: ReadonlyArray<readonly [name: string, value: string]>;
  /** `a="x",b="y"` (empty without labels), values escaped. */
  readonly text: string;
  /** `text` as UTF-8, filled on first use. */
  textBytes?: Buffer;
  /** The protobuf `label` fields, filled on first use (expositionProto.ts). */
  protoBytes?: Buffer;
}

/** A series' encoded protobuf Metric and the values it holds, kept on the series (expositionProto.ts). */
export interface ProtoCache {
  count: number;
  value: number;
  bytes: Buffer;
}

/** The label set of `pairs`, sorted by name so one set always renders the same. */
export function labelSetOf(pairs: Iterable<readonly [string, string]>): LabelSet {
  const sorted = [...pairs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { pairs: sorted, text: sorted.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(',') };
}

export interface ScalarSeries {
  labels: LabelSet;
  value: number;
  protoCache?: ProtoCache;
}

export interface HistogramSeries {
  labels: LabelSet;
  /** Upper bounds in order, without +Inf. */
  bounds: readonly number[];
  /** Per-bucket (not cumulative) counts, one more than `bounds` (the last is +Inf). */
  counts: readonly number[];
  sum: number;
  count: number;
  protoCache?: ProtoCache;
}

export type Family =
  | { kind: 'counter' | 'gauge'; name: string; help: string; unit?: string; series: ScalarSeries[] }
  | { kind: 'histogram'; name: string; help: string; unit?: string; series: HistogramSeries[] }
  /** target_info: a gauge of value 1 in the text format, an info metric in OpenMetrics. */
  | { kind: 'info'; name: string; help: string; series: ScalarSeries[] };

/** `"` `\` and line feeds escaped, as both formats want label values. */
export function escapeLabelValue(value: string): string {
  return /["\\\n]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : value;
}

function escapeHelp(text: string, format: ExpositionFormat): string {
  const escaped = text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return format === 'openmetrics' ? escaped.replace(/"/g, '\\"') : escaped;
}

/** Go's float formatting as Prometheus reads it: +Inf, -Inf, NaN, else the shortest exact form. */
export function formatValue(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** The `le` of a bound: OpenMetrics wants a float (`1.0`), the text format takes Go's shortest (`1`). */
function leOf(bound: number, format: ExpositionFormat): string {
  const text = formatValue(bound);
  return format === 'openmetrics' && Number.isInteger(bound) && !/e/.test(text) ? `${text}.0` : text;
}

/** The metadata lines of one family. In OpenMetrics a counter's family name drops `_total`. */
function header(family: Family, format: ExpositionFormat): string {
  let name = family.name;
  let type: string = family.kind;
  if (format === 'openmetrics') {
    if (family.kind === 'counter') name = name.replace(/_total$/, '');
    if (family.kind === 'info') name = name.replace(/_info$/, '');
  } else if (family.kind === 'info') {
    type = 'gauge';
  }
  let text = `# HELP ${name} ${escapeHelp(family.help, format)}\n# TYPE ${name} ${type}\n`;
  if (format === 'openmetrics' && family.kind !== 'info' && family.unit !== undefined && name.endsWith(`_${family.unit}`)) text += `# UNIT ${name} ${family.unit}\n`;
  return text;
}

const NEWLINE = 0x0a;

/** The fixed byte pieces of one family's sample lines, in one format. */
interface FamilyPieces {
  /** `name{` and `name ` for samples with and without labels. */
  open: Buffer;
  bare: Buffer;
  /** `name_bucket{`: a bucket always has a label, its `le`. */
  bucketOpen: Buffer;
  sumOpen: Buffer;
  sumBare: Buffer;
  countOpen: Buffer;
  countBare: Buffer;
  /** `,le="0.5"} ` after labels, or `le="0.5"} ` without, per bound and then +Inf. */
  leAfterLabels: Buffer[];
  leAlone: Buffer[];
}

const CLOSE = Buffer.from('} ');

function piecesOf(family: Family, format: ExpositionFormat): FamilyPieces {
  const name = family.name;
  const bounds = family.kind === 'histogram' ? (family.series[0]?.bounds ?? []) : [];
  const les = [...bounds.map((bound) => leOf(bound, format)), '+Inf'];
  return {
    open: Buffer.from(`${name}{`),
    bare: Buffer.from(`${name} `),
    bucketOpen: Buffer.from(`${name}_bucket{`),
    sumOpen: Buffer.from(`${name}_sum{`),
    sumBare: Buffer.from(`${name}_sum `),
    countOpen: Buffer.from(`${name}_count{`),
    countBare: Buffer.from(`${name}_count `),
    leAfterLabels: les.map((le) => Buffer.from(`,le="${le}"} `)),
    leAlone: les.map((le) => Buffer.from(`le="${le}"} `)),
  };
}

function writeSample(out: PageWriter, open: Buffer, bare: Buffer, labels: Buffer, value: number): void {
  if (labels.length === 0) {
    out.bytes(bare);
  } else {
    out.bytes(open);
    out.bytes(labels);
    out.bytes(CLOSE);
  }
  out.ascii(formatValue(value));
  out.byte(NEWLINE);
}

function writeHistogram(out: PageWriter, pieces: FamilyPieces, labels: Buffer, series: HistogramSeries): void {
  const les = labels.length === 0 ? pieces.leAlone : pieces.leAfterLabels;
  let cumulative = 0;
  for (let index = 0; index <= series.bounds.length; index += 1) {
    cumulative = index === series.bounds.length ? series.count : cumulative + (series.counts[index] ?? 0);
    out.bytes(pieces.bucketOpen);
    out.bytes(labels);
    out.bytes(les[index] as Buffer);
    out.ascii(formatValue(cumulative));
    out.byte(NEWLINE);
  }
  writeSample(out, pieces.sumOpen, pieces.sumBare, labels, series.sum);
  writeSample(out, pieces.countOpen, pieces.countBare, labels, series.count);
}

/**
 * The exposition of `families` in slices of bytes: the caller writes each and may let other work
 * run between them, so a large scrape never holds the event loop for long.
 */
export function* expose(families: readonly Family[], format: ExpositionFormat, pool = new SlicePool()): Generator<Buffer> {
  if (format === 'protobuf') return yield* exposeProtobuf(families, pool);
  const out = new PageWriter(pool);
  for (const family of families) {
    if (family.series.length === 0) continue;
    out.utf8(header(family, format));
    const pieces = piecesOf(family, format);
    for (const series of family.series) {
      const labels = (series.labels.textBytes ??= Buffer.from(series.labels.text, 'utf8'));
      if ('bounds' in series) {
        // One family's histograms share their bounds (one instrument); a stray one gets its own.
        const own = series.bounds.length + 1 === pieces.leAlone.length ? pieces : piecesOf({ ...family, series: [series] } as Family, format);
        writeHistogram(out, own, labels, series);
      } else {
        writeSample(out, pieces.open, pieces.bare, labels, series.value);
      }
      yield* out.takeFull();
    }
  }
  if (format === 'openmetrics') out.ascii('# EOF\n');
  yield* out.finish();
}

/** What `/metrics` offers, in the order taken when a client states no preference (any type, or no Accept). */
const OFFERS = ['text/plain; version=0.0.4', 'application/openmetrics-text; version=1.0.0', 'application/openmetrics-text; version=0.0.1', CONTENT_TYPE.protobuf];

/**
 * The format to answer with, from an Accept header, by q-values and parameters as HTTP says
 * (Prometheus asks for OpenMetrics first); the text format when nothing offered is acceptable,
 * as Prometheus's own client library does.
 */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  const chosen = new Negotiator({ headers: accept === undefined ? {} : { accept } }).mediaType(OFFERS);
  if (chosen === CONTENT_TYPE.protobuf) return 'protobuf';
  return chosen?.startsWith('application/openmetrics-text') ? 'openmetrics' : 'text';
}
