/**
 * A captured OTLP/HTTP protobuf export replayed as many pods: the capacity bench sends one real
 * sidecar's export again and again with another pod's identity and a new collection time, so the
 * collector parses exactly what sidecars send. Both changes keep every length on the wire (the
 * identity is replaced by one of the same length, timestamps are fixed64), so the payload is
 * copied and patched in place instead of decoded and encoded per send. Pure.
 *
 * Field numbers: opentelemetry-proto collector/metrics/v1/metrics_service.proto and
 * metrics/v1/metrics.proto.
 */

const WIRE = { varint: 0, fixed64: 1, length: 2, fixed32: 5 } as const;

/** ExportMetricsServiceRequest.resource_metrics, ResourceMetrics.scope_metrics, ScopeMetrics.metrics. */
const RESOURCE_METRICS = 1;
const SCOPE_METRICS = 2;
const METRICS = 2;
/** Metric.gauge, sum, histogram, exponential_histogram, summary: each holds `data_points = 1`. */
const METRIC_DATA = new Set([5, 7, 9, 10, 11]);
const DATA_POINTS = 1;
/** time_unix_nano in every kind of data point. */
const TIME_UNIX_NANO = 3;

export class WireError extends Error {
  override readonly name = 'WireError';
}

interface Field {
  number: number;
  wireType: number;
  /** Where the value starts (after the key, and after the length of a length-delimited field). */
  start: number;
  end: number;
}

function readVarint(buffer: Uint8Array, offset: number): { value: number; next: number } {
  let value = 0;
  let shift = 0;
  for (let index = offset; index < buffer.length && shift < 64; index += 1) {
    const byte = buffer[index] as number;
    // Lengths and field numbers fit in 2^53; a larger varint value is only read to skip it.
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return { value, next: index + 1 };
    shift += 7;
  }
  throw new WireError(`truncated varint at byte ${offset}`);
}

/** The fields of one message between `start` and `end`. */
function* fieldsOf(buffer: Uint8Array, start: number, end: number): Generator<Field> {
  let offset = start;
  while (offset < end) {
    const key = readVarint(buffer, offset);
    const number = Math.floor(key.value / 8);
    const wireType = key.value % 8;
    let valueStart = key.next;
    let valueEnd: number;
    if (wireType === WIRE.varint) valueEnd = readVarint(buffer, valueStart).next;
    else if (wireType === WIRE.fixed64) valueEnd = valueStart + 8;
    else if (wireType === WIRE.fixed32) valueEnd = valueStart + 4;
    else if (wireType === WIRE.length) {
      const length = readVarint(buffer, valueStart);
      valueStart = length.next;
      valueEnd = valueStart + length.value;
    } else throw new WireError(`wire type ${wireType} of field ${number} at byte ${offset} is not one OTLP uses`);
    if (valueEnd > end) throw new WireError(`field ${number} at byte ${offset} runs past its message`);
    yield { number, wireType, start: valueStart, end: valueEnd };
    offset = valueEnd;
  }
}

function* children(buffer: Uint8Array, parent: { start: number; end: number }, number: number): Generator<Field> {
  for (const field of fieldsOf(buffer, parent.start, parent.end)) {
    if (field.number === number && field.wireType === WIRE.length) yield field;
  }
}

export interface ExportLayout {
  /** Data points in the export (what the collector counts as metric points). */
  points: number;
  /** Byte offsets of every data point's time_unix_nano (fixed64, little-endian). */
  timeOffsets: number[];
}

/** Where the data points and their collection times are in an ExportMetricsServiceRequest. */
export function exportLayout(payload: Uint8Array): ExportLayout {
  const timeOffsets: number[] = [];
  let points = 0;
  const whole = { start: 0, end: payload.length };
  for (const resourceMetrics of children(payload, whole, RESOURCE_METRICS)) {
    for (const scopeMetrics of children(payload, resourceMetrics, SCOPE_METRICS)) {
      for (const metric of children(payload, scopeMetrics, METRICS)) {
        for (const data of fieldsOf(payload, metric.start, metric.end)) {
          if (!METRIC_DATA.has(data.number) || data.wireType !== WIRE.length) continue;
          for (const point of children(payload, data, DATA_POINTS)) {
            points += 1;
            for (const field of fieldsOf(payload, point.start, point.end)) {
              if (field.number === TIME_UNIX_NANO && field.wireType === WIRE.fixed64) timeOffsets.push(field.start);
            }
          }
        }
      }
    }
  }
  return { points, timeOffsets };
}

/** Every offset at which `marker` occurs in `payload`. */
export function markerOffsets(payload: Uint8Array, marker: string): number[] {
  const bytes = Buffer.from(marker, 'utf8');
  const haystack = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const offsets: number[] = [];
  for (let at = haystack.indexOf(bytes); at >= 0; at = haystack.indexOf(bytes, at + bytes.length)) offsets.push(at);
  return offsets;
}

/** One captured export, ready to be stamped with another pod's identity and time. */
export interface ExportTemplate {
  payload: Buffer;
  /** The captured pod's identity (service.instance.id and k8s.pod.name), replaced in every copy. */
  marker: string;
  markerOffsets: number[];
  layout: ExportLayout;
}

export function exportTemplate(payload: Uint8Array, marker: string): ExportTemplate {
  const offsets = markerOffsets(payload, marker);
  if (offsets.length === 0) throw new WireError(`the export does not hold the pod identity "${marker}"`);
  const layout = exportLayout(payload);
  if (layout.timeOffsets.length !== layout.points) throw new WireError(`${layout.points} data points but ${layout.timeOffsets.length} collection times`);
  return { payload: Buffer.from(payload), marker, markerOffsets: offsets, layout };
}

/** A copy of the template as pod `identity` (same length as the marker) exported at `timeUnixNano`. */
export function stampExport(template: ExportTemplate, identity: string, timeUnixNano: bigint): Buffer {
  const replacement = Buffer.from(identity, 'utf8');
  if (replacement.length !== Buffer.byteLength(template.marker)) throw new WireError(`identity "${identity}" is not as long as "${template.marker}"`);
  const copy = Buffer.from(template.payload);
  for (const offset of template.markerOffsets) replacement.copy(copy, offset);
  for (const offset of template.layout.timeOffsets) copy.writeBigUInt64LE(timeUnixNano, offset);
  return copy;
}

/** The identity of synthetic pod `index`: the marker with its trailing digits replaced, same length. */
export function podIdentity(marker: string, index: number): string {
  const digits = /\d+$/.exec(marker)?.[0];
  if (digits === undefined) throw new WireError(`marker "${marker}" does not end in digits`);
  const text = String(index);
  if (text.length > digits.length) throw new WireError(`pod ${index} does not fit the ${digits.length} digits of "${marker}"`);
  return `${marker.slice(0, -digits.length)}${text.padStart(digits.length, '0')}`;
}
