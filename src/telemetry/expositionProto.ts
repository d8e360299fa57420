/**
 * The Prometheus protobuf exposition (io.prometheus.client.MetricFamily, length-delimited), which
 * Prometheus asks for first when it runs with native histograms on, as k8s/ and compose run it.
 * Each series names its labels once, and a histogram's buckets are numbers, not lines that each
 * repeat the labels: a page of 1,000 label sets is ~7 times smaller than in the text formats
 * (bench/scrape.ts measures both).
 *
 * Encoded here rather than with protobufjs: its Writer records every field as an object and
 * copies nested messages when they close, so for that page it held the event loop ~150 ms per
 * scrape (bench/scrape.ts). This encoder knows the five messages it writes, sizes each series
 * first (so a family's length prefix is known before its first byte), then writes into 64 KiB
 * slices, yielding between them. Message and field numbers are those of
 * prometheus/client_model's metrics.proto; test/unit/expositionProto.test.ts reads the output
 * back with protobufjs, and test/integration/pullEndpoint.test.ts has a real Prometheus scrape it.
 */
import type { Family, HistogramSeries, LabelSet, ScalarSeries } from './exposition';
import { PageWriter, SlicePool } from './slicePool';

/** Field tags: (field number << 3) | wire type (0 varint, 1 fixed64, 2 length-delimited). */
const TAG = {
  familyName: (1 << 3) | 2,
  familyHelp: (2 << 3) | 2,
  familyType: (3 << 3) | 0,
  familyMetric: (4 << 3) | 2,
  metricLabel: (1 << 3) | 2,
  metricGauge: (2 << 3) | 2,
  metricCounter: (3 << 3) | 2,
  metricHistogram: (7 << 3) | 2,
  labelName: (1 << 3) | 2,
  labelValue: (2 << 3) | 2,
  /** Gauge.value and Counter.value. */
  value: (1 << 3) | 1,
  sampleCount: (1 << 3) | 0,
  sampleSum: (2 << 3) | 1,
  bucket: (3 << 3) | 2,
  cumulativeCount: (1 << 3) | 0,
  upperBound: (2 << 3) | 1,
} as const;

/** io.prometheus.client.MetricType; target_info (kind `info`) is a gauge, as in the text format. */
const METRIC_TYPE = { counter: 0, gauge: 1, info: 1, histogram: 4 } as const;

const DOUBLE = 8;

/** Bytes of `value` (a whole number below 2^53) as a varint. */
function varintSize(value: number): number {
  let size = 1;
  for (let rest = value; rest >= 128; rest = Math.floor(rest / 128)) size += 1;
  return size;
}

function writeVarint(buffer: Buffer, at: number, value: number): number {
  let rest = value;
  let position = at;
  while (rest >= 128) {
    buffer[position++] = (rest % 128) | 128;
    rest = Math.floor(rest / 128);
  }
  buffer[position++] = rest;
  return position;
}

/** A length-delimited field of `size` content bytes, tag and length included. */
const fieldSize = (size: number): number => 1 + varintSize(size) + size;

/** A label set's `label` fields (LabelPair messages), encoded on first use and kept on the set. */
function labelFields(labels: LabelSet): Buffer {
  if (labels.protoBytes !== undefined) return labels.protoBytes;
  const pairs = labels.pairs.map(([name, value]) => [Buffer.from(name), Buffer.from(value)] as const);
  const pairSizes = pairs.map(([name, value]) => fieldSize(name.length) + fieldSize(value.length));
  const bytes = Buffer.allocUnsafe(pairSizes.reduce((total, size) => total + fieldSize(size), 0));
  let at = 0;
  pairs.forEach(([name, value], index) => {
    bytes[at++] = TAG.metricLabel;
    at = writeVarint(bytes, at, pairSizes[index] as number);
    bytes[at++] = TAG.labelName;
    at = writeVarint(bytes, at, name.length);
    at += name.copy(bytes, at);
    bytes[at++] = TAG.labelValue;
    at = writeVarint(bytes, at, value.length);
    at += value.copy(bytes, at);
  });
  labels.protoBytes = bytes;
  return bytes;
}

/** Content bytes of a Histogram message with these values. */
function histogramSize(counts: readonly number[], bucketCount: number, count: number): number {
  let size = 1 + varintSize(count) + 1 + DOUBLE;
  let cumulative = 0;
  for (let index = 0; index < bucketCount; index += 1) {
    cumulative += counts[index] ?? 0;
    size += fieldSize(1 + varintSize(cumulative) + 1 + DOUBLE);
  }
  return size;
}


/**
 * A series' `metric` field, kept on the series (the scrape view keeps the same series objects from
 * one scrape to the next) and written again only when its values changed: most series of a sidecar
 * with many label sets do not change between two scrapes, and copying their bytes costs a fraction
 * of encoding them. Holds about one page of memory (2 MB for 1,000 label sets). A changed series
 * is written over its kept bytes when its size is the same (nearly always: only a varint growing a
 * byte changes it), so a scrape in which every series changed leaves no 2 MB of garbage behind.
 * A concurrent scrape that already sized this family still copies a complete, same-length message.
 */
function cachedMetric(family: Family, series: ScalarSeries | HistogramSeries): Buffer {
  const isHistogram = 'bounds' in series;
  // Read once: a live series' values are getters (scrapeView.ts).
  const count = isHistogram ? series.count : 0;
  const value = isHistogram ? series.sum : series.value;
  const cached = series.protoCache;
  if (cached !== undefined && cached.count === count && (cached.value === value || (Number.isNaN(cached.value) && Number.isNaN(value)))) return cached.bytes;
  const labels = labelFields(series.labels);
  const reuse = cached?.bytes;
  const bytes = isHistogram
    ? encodeHistogram(labels, series.bounds, series.counts, value, count, reuse)
    : encodeScalar(labels, family.kind === 'counter' ? TAG.metricCounter : TAG.metricGauge, value, reuse);
  if (cached === undefined) series.protoCache = { count, value, bytes };
  else {
    cached.count = count;
    cached.value = value;
    cached.bytes = bytes;
  }
  return bytes;
}

/** `reuse` when it has exactly `bytes` bytes, else a new buffer. */
const bufferOf = (bytes: number, reuse: Buffer | undefined): Buffer => (reuse !== undefined && reuse.length === bytes ? reuse : Buffer.allocUnsafe(bytes));

/** A `metric` field holding a Counter or Gauge. */
function encodeScalar(labels: Buffer, valueTag: number, value: number, reuse?: Buffer): Buffer {
  const size = labels.length + fieldSize(1 + DOUBLE);
  const bytes = bufferOf(fieldSize(size), reuse);
  let at = 0;
  bytes[at++] = TAG.familyMetric;
  at = writeVarint(bytes, at, size);
  at += labels.copy(bytes, at);
  bytes[at++] = valueTag;
  bytes[at++] = 1 + DOUBLE;
  bytes[at++] = TAG.value;
  bytes.writeDoubleLE(value, at);
  return bytes;
}

/**
 * A `metric` field holding a classic Histogram, written in one pass over a buffer of its exact
 * size (the hot loop of a scrape in which every series changed). The +Inf bucket is implicit:
 * Prometheus takes it from sample_count.
 */
function encodeHistogram(labels: Buffer, bounds: readonly number[], counts: readonly number[], sum: number, count: number, reuse?: Buffer): Buffer {
  const histogram = histogramSize(counts, bounds.length, count);
  const size = labels.length + fieldSize(histogram);
  const bytes = bufferOf(fieldSize(size), reuse);
  let at = 0;
  bytes[at++] = TAG.familyMetric;
  at = writeVarint(bytes, at, size);
  at += labels.copy(bytes, at);
  bytes[at++] = TAG.metricHistogram;
  at = writeVarint(bytes, at, histogram);
  bytes[at++] = TAG.sampleCount;
  at = writeVarint(bytes, at, count);
  bytes[at++] = TAG.sampleSum;
  at = bytes.writeDoubleLE(sum, at);
  let cumulative = 0;
  for (let index = 0; index < bounds.length; index += 1) {
    cumulative += counts[index] ?? 0;
    bytes[at++] = TAG.bucket;
    // A bucket is at most 1 + 8 + 1 + 8 bytes: its length is one varint byte.
    bytes[at++] = 1 + varintSize(cumulative) + 1 + DOUBLE;
    bytes[at++] = TAG.cumulativeCount;
    at = writeVarint(bytes, at, cumulative);
    bytes[at++] = TAG.upperBound;
    at = bytes.writeDoubleLE(bounds[index] as number, at);
  }
  return bytes;
}

/** The families, each a length-delimited MetricFamily, in slices of about 64 KiB. */
export function* exposeProtobuf(families: readonly Family[], pool = new SlicePool()): Generator<Buffer> {
  const out = new PageWriter(pool);
  const varint = (value: number): void => {
    out.room(10);
    out.at = writeVarint(out.buffer, out.at, value);
  };
  for (const family of families) {
    if (family.series.length === 0) continue;
    const name = Buffer.from(family.name);
    const help = Buffer.from(family.help);
    const metrics = family.series.map((series) => cachedMetric(family, series));
    const head = fieldSize(name.length) + fieldSize(help.length) + 1 + varintSize(METRIC_TYPE[family.kind]);
    const length = metrics.reduce((total, bytes) => total + bytes.length, head);
    varint(length);
    out.byte(TAG.familyName);
    varint(name.length);
    out.bytes(name);
    out.byte(TAG.familyHelp);
    varint(help.length);
    out.bytes(help);
    out.byte(TAG.familyType);
    varint(METRIC_TYPE[family.kind]);
    for (const bytes of metrics) {
      out.bytes(bytes);
      yield* out.takeFull();
    }
  }
  yield* out.finish();
}
