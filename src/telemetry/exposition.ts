/**
 * The Prometheus text format (0.0.4) and OpenMetrics (1.0.0) for `/metrics`, from metric families
 * already named and labelled as Prometheus stores them (see scrapeView.ts).
 *
 * Written here rather than taken from a library: @opentelemetry/exporter-prometheus (0.223) adds
 * no unit suffixes (`_seconds`), so its names differ from what the collector path writes and every
 * dashboard would miss them, and it serves no OpenMetrics; prom-client serializes only its own
 * instruments, which cannot take the SDK's cumulative bucket counts. Both formats are checked
 * against a real Prometheus scraping each one (test/integration/pullEndpoint.test.ts).
 */
import Negotiator from 'negotiator';

export type ExpositionFormat = 'text' | 'openmetrics';

export const CONTENT_TYPE: Readonly<Record<ExpositionFormat, string>> = {
  text: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

export interface ScalarSeries {
  /** Rendered label pairs, `a="x",b="y"` (may be empty). */
  labels: string;
  value: number;
}

export interface HistogramSeries {
  labels: string;
  /** Upper bounds in order, without +Inf. */
  bounds: readonly number[];
  /** Per-bucket (not cumulative) counts, one more than `bounds` (the last is +Inf). */
  counts: readonly number[];
  sum: number;
  count: number;
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

function sample(name: string, labels: string, value: number): string {
  return labels === '' ? `${name} ${formatValue(value)}\n` : `${name}{${labels}} ${formatValue(value)}\n`;
}

function withLe(labels: string, le: string): string {
  return labels === '' ? `le="${le}"` : `${labels},le="${le}"`;
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

/** Series per slice: a slice is rendered in one go, and the caller may yield between slices. */
const SERIES_PER_SLICE = 200;

/**
 * The exposition of `families` in slices of text: the caller writes each and may let other work
 * run between them, so a large scrape never holds the event loop for long.
 */
export function* expose(families: readonly Family[], format: ExpositionFormat): Generator<string> {
  for (const family of families) {
    if (family.series.length === 0) continue;
    let text = header(family, format);
    let inSlice = 0;
    for (const series of family.series) {
      if ('bounds' in series) {
        let cumulative = 0;
        for (let index = 0; index < series.bounds.length; index += 1) {
          cumulative += series.counts[index] ?? 0;
          text += sample(`${family.name}_bucket`, withLe(series.labels, leOf(series.bounds[index] as number, format)), cumulative);
        }
        text += sample(`${family.name}_bucket`, withLe(series.labels, '+Inf'), series.count);
        text += sample(`${family.name}_sum`, series.labels, series.sum);
        text += sample(`${family.name}_count`, series.labels, series.count);
      } else {
        text += sample(family.name, series.labels, series.value);
      }
      inSlice += 1;
      if (inSlice === SERIES_PER_SLICE) {
        yield text;
        text = '';
        inSlice = 0;
      }
    }
    if (text !== '') yield text;
  }
  if (format === 'openmetrics') yield '# EOF\n';
}

/** What `/metrics` offers, in the order taken when a client states no preference (any type, or no Accept). */
const OFFERS = ['text/plain; version=0.0.4', 'application/openmetrics-text; version=1.0.0', 'application/openmetrics-text; version=0.0.1'];

/**
 * The format to answer with, from an Accept header, by q-values and parameters as HTTP says
 * (Prometheus asks for OpenMetrics first); the text format when nothing offered is acceptable,
 * as Prometheus's own client library does.
 */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  const chosen = new Negotiator({ headers: accept === undefined ? {} : { accept } }).mediaType(OFFERS);
  return chosen?.startsWith('application/openmetrics-text') ? 'openmetrics' : 'text';
}
