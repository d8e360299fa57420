/**
 * A real OTLP/HTTP metrics receiver for tests.
 *
 * Listens on 127.0.0.1:<ephemeral port>, accepts `POST /v1/metrics` in both encodings the
 * official JS exporters use -- `application/json` (OTLP/JSON) and `application/x-protobuf`
 * (decoded with protobufjs against the schema subset in ./otlp-metrics.proto) -- optionally
 * gzip-compressed, and flattens every data point into a {@link ReceivedPoint}.
 *
 * Behaviour:
 *  - 2xx: answers a valid, empty ExportMetricsServiceResponse in the request's encoding
 *    (`{}` for JSON, zero bytes for protobuf).
 *  - Undecodable body (bad JSON/protobuf, bad gzip, wrong shapes such as a non-numeric count)
 *    -> 400; unsupported content type -> 415; unknown content-encoding -> 415; wrong path -> 404;
 *    non-POST -> 405. Error bodies are a google.rpc.Status in the request's encoding.
 *  - `respondAfter(ms)` delays answers (a slow collector); `stopListening()` / `listenAgain()`
 *    close and reopen the same port (a collector that is down: connections are refused).
 *  - `respondWith(status)` forces the status of later requests. With a non-2xx status the body
 *    is not decoded and its points are NOT added to `points()` (the "collector" rejected them),
 *    but the request is still recorded in `requests`.
 *  - Only gauge / sum / histogram metrics are decoded; exponential histograms and summaries are
 *    skipped.
 *  - Attribute values that are arrays / kvlists are stored as their JSON text; bytes as base64.
 */
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';
import * as zlib from 'zlib';
import * as protobuf from 'protobufjs';

export type AttributeValue = string | number | boolean;

export interface ReceivedPoint {
  metric: string; // e.g. 'gen_ai.client.token.usage'
  unit: string;
  kind: 'histogram' | 'sum' | 'gauge';
  monotonic?: boolean; // sums
  temporality?: 'cumulative' | 'delta'; // sums and histograms
  attributes: Record<string, AttributeValue>;
  resource: Record<string, AttributeValue>;
  scope: string;
  // histogram
  count?: number;
  sum?: number;
  bucketCounts?: number[];
  explicitBounds?: number[];
  // sum / gauge
  value?: number;
}

export interface ReceivedRequest {
  /** Raw Content-Type header ('' when absent). */
  contentType: string;
  /** Body size on the wire (i.e. before gunzip). */
  bytes: number;
  /** HTTP status the receiver answered with. */
  status: number;
  /** Only present when the receiver itself rejected the request (400/404/405/415): why. */
  error?: string;
}

export interface OtlpReceiver {
  /** Base URL, e.g. http://127.0.0.1:PORT -- exporters post to `url + '/v1/metrics'`. */
  url: string;
  requests: ReceivedRequest[];
  /** All points from all accepted requests, in arrival order. */
  points(): ReceivedPoint[];
  /**
   * Newest point per (resource, metric, attribute set): the one with the greatest
   * time_unix_nano, ties broken by arrival order. Meant for cumulative data (and gauges);
   * for delta data it is just the last interval.
   */
  latest(): ReceivedPoint[];
  /**
   * Polls `points()` until `predicate` returns true (a throwing predicate counts as false) and
   * resolves with the points; rejects after `timeoutMs` (default 5000) with a message listing
   * what was received.
   */
  waitFor(predicate: (points: ReceivedPoint[]) => boolean, timeoutMs?: number): Promise<ReceivedPoint[]>;
  /** Answer later requests with this status (e.g. 503); default 200. */
  respondWith(status: number): void;
  /** Hold every later answer this long (a slow collector); 0, the default, answers at once. */
  respondAfter(ms: number): void;
  /** Close the port (connections are refused) until `listenAgain`, which reopens the same port. */
  stopListening(): Promise<void>;
  listenAgain(): Promise<void>;
  /** Every accepted export body, decompressed, exactly as received (for leak checks). */
  bodies(): Buffer[];
  /** Request headers of every request, in arrival order (e.g. to see configured export headers). */
  requestHeaders(): http.IncomingHttpHeaders[];
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// protobuf schema

const PROTO_FILE = 'otlp-metrics.proto';

interface ProtoTypes {
  request: protobuf.Type;
  status: protobuf.Type;
}

let protoTypes: ProtoTypes | undefined;

function loadProto(): ProtoTypes {
  if (protoTypes) return protoTypes;
  // Next to this file under ts-jest; fall back to the source tree if run from a compiled copy.
  const candidates = [
    path.join(__dirname, PROTO_FILE),
    path.resolve(__dirname, '..', '..', '..', 'test', 'helpers', PROTO_FILE),
    path.resolve(process.cwd(), 'test', 'helpers', PROTO_FILE),
  ];
  const file = candidates.find((c) => fs.existsSync(c));
  if (!file) throw new Error(`otlpReceiver: cannot find ${PROTO_FILE} (looked in ${candidates.join(', ')})`);
  const root = protobuf.loadSync(file);
  protoTypes = {
    request: root.lookupType('otlp_subset.ExportMetricsServiceRequest'),
    status: root.lookupType('otlp_subset.Status'),
  };
  return protoTypes;
}

/**
 * protobuf -> the same camelCase object shape as OTLP/JSON, so one normaliser handles both.
 * 64-bit integers become decimal strings (like OTLP/JSON allows), bytes become base64.
 */
function decodeProtobuf(body: Buffer): unknown {
  const { request } = loadProto();
  const message = request.decode(body);
  return request.toObject(message, { longs: String, enums: Number, bytes: String, defaults: false, arrays: true });
}

function encodeStatus(encoding: Encoding, code: number, message: string): Buffer {
  if (encoding === 'protobuf') {
    const { status } = loadProto();
    return Buffer.from(status.encode(status.create({ code, message })).finish());
  }
  return Buffer.from(JSON.stringify({ code, message }));
}

// ---------------------------------------------------------------------------------------------
// normalisation (OTLP/JSON shape -> ReceivedPoint)

class DecodeError extends Error {}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function snake(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Field by its lowerCamelCase JSON name, also accepting the original snake_case proto name. */
function field(o: Obj, camel: string): unknown {
  if (o[camel] !== undefined) return o[camel];
  return o[snake(camel)];
}

function objField(o: Obj, camel: string, where: string): Obj | undefined {
  const v = field(o, camel);
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw new DecodeError(`${where}.${camel} must be an object`);
  return v;
}

function arrField(o: Obj, camel: string, where: string): unknown[] {
  const v = field(o, camel);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new DecodeError(`${where}.${camel} must be an array`);
  return v;
}

function strField(o: Obj, camel: string, where: string): string {
  const v = field(o, camel);
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new DecodeError(`${where}.${camel} must be a string`);
  return v;
}

/** Numbers may arrive as JSON numbers or as strings (int64 / fixed64, "NaN", "Infinity"). */
function toNumber(v: unknown, where: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    if (!Number.isNaN(n) || v.trim() === 'NaN') return n;
  }
  throw new DecodeError(`${where} must be a number or numeric string, got ${JSON.stringify(v)}`);
}

function optNumber(o: Obj, camel: string, where: string): number | undefined {
  const v = field(o, camel);
  return v === undefined || v === null ? undefined : toNumber(v, `${where}.${camel}`);
}

function toBigIntOrUndefined(v: unknown): bigint | undefined {
  if (typeof v === 'string' && /^\d+$/.test(v)) return BigInt(v);
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return BigInt(v);
  return undefined;
}

const TEMPORALITY: Record<string, 'delta' | 'cumulative' | undefined> = {
  '1': 'delta',
  '2': 'cumulative',
  AGGREGATION_TEMPORALITY_DELTA: 'delta',
  AGGREGATION_TEMPORALITY_CUMULATIVE: 'cumulative',
};

function temporalityOf(o: Obj): 'delta' | 'cumulative' | undefined {
  const v = field(o, 'aggregationTemporality');
  if (v === undefined || v === null) return undefined;
  return TEMPORALITY[String(v)];
}

function anyValue(v: unknown, where: string): AttributeValue | undefined {
  if (!isObj(v)) return undefined; // empty / missing AnyValue
  if (field(v, 'stringValue') !== undefined) return String(field(v, 'stringValue'));
  if (field(v, 'boolValue') !== undefined) {
    const b = field(v, 'boolValue');
    if (typeof b !== 'boolean') throw new DecodeError(`${where}.boolValue must be a boolean`);
    return b;
  }
  if (field(v, 'intValue') !== undefined) return toNumber(field(v, 'intValue'), `${where}.intValue`);
  if (field(v, 'doubleValue') !== undefined) return toNumber(field(v, 'doubleValue'), `${where}.doubleValue`);
  if (field(v, 'bytesValue') !== undefined) return String(field(v, 'bytesValue'));
  if (field(v, 'arrayValue') !== undefined) return JSON.stringify(plainAny(v, where));
  if (field(v, 'kvlistValue') !== undefined) return JSON.stringify(plainAny(v, where));
  return undefined;
}

/** Nested AnyValue -> plain JS (for arrays / kvlists). */
function plainAny(v: unknown, where: string): unknown {
  if (!isObj(v)) return null;
  const arr = field(v, 'arrayValue');
  if (arr !== undefined) {
    if (!isObj(arr)) throw new DecodeError(`${where}.arrayValue must be an object`);
    return arrField(arr, 'values', `${where}.arrayValue`).map((x, i) => plainAny(x, `${where}.arrayValue.values[${i}]`));
  }
  const kv = field(v, 'kvlistValue');
  if (kv !== undefined) {
    if (!isObj(kv)) throw new DecodeError(`${where}.kvlistValue must be an object`);
    const out: Record<string, unknown> = {};
    for (const [i, e] of arrField(kv, 'values', `${where}.kvlistValue`).entries()) {
      if (!isObj(e)) throw new DecodeError(`${where}.kvlistValue.values[${i}] must be an object`);
      out[strField(e, 'key', where)] = plainAny(field(e, 'value'), `${where}.kvlistValue.values[${i}]`);
    }
    return out;
  }
  return anyValue(v, where) ?? null;
}

function attributes(list: unknown[], where: string): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  list.forEach((kv, i) => {
    const w = `${where}[${i}]`;
    if (!isObj(kv)) throw new DecodeError(`${w} must be a KeyValue object`);
    const key = strField(kv, 'key', w);
    const value = anyValue(field(kv, 'value'), `${w}.value`);
    if (value !== undefined) out[key] = value;
  });
  return out;
}

interface StoredPoint {
  point: ReceivedPoint;
  time: bigint | undefined;
  seq: number;
}

function normalise(request: unknown): { point: ReceivedPoint; time: bigint | undefined }[] {
  if (!isObj(request)) throw new DecodeError('ExportMetricsServiceRequest must be a JSON object');
  const out: { point: ReceivedPoint; time: bigint | undefined }[] = [];
  arrField(request, 'resourceMetrics', 'request').forEach((rmRaw, ri) => {
    const rw = `resourceMetrics[${ri}]`;
    if (!isObj(rmRaw)) throw new DecodeError(`${rw} must be an object`);
    const res = objField(rmRaw, 'resource', rw);
    const resource = res ? attributes(arrField(res, 'attributes', `${rw}.resource`), `${rw}.resource.attributes`) : {};
    arrField(rmRaw, 'scopeMetrics', rw).forEach((smRaw, si) => {
      const sw = `${rw}.scopeMetrics[${si}]`;
      if (!isObj(smRaw)) throw new DecodeError(`${sw} must be an object`);
      const scopeObj = objField(smRaw, 'scope', sw);
      const scope = scopeObj ? strField(scopeObj, 'name', `${sw}.scope`) : '';
      arrField(smRaw, 'metrics', sw).forEach((mRaw, mi) => {
        const mw = `${sw}.metrics[${mi}]`;
        if (!isObj(mRaw)) throw new DecodeError(`${mw} must be an object`);
        const metric = strField(mRaw, 'name', mw);
        const unit = strField(mRaw, 'unit', mw);
        const base = (dp: Obj, dw: string, attrField: string) => ({
          metric,
          unit,
          attributes: attributes(arrField(dp, attrField, dw), `${dw}.attributes`),
          resource: { ...resource },
          scope,
        });
        const time = (dp: Obj) => toBigIntOrUndefined(field(dp, 'timeUnixNano'));

        const numberPoints = (data: Obj, kind: 'sum' | 'gauge', dwBase: string) =>
          arrField(data, 'dataPoints', dwBase).forEach((dpRaw, di) => {
            const dw = `${dwBase}.dataPoints[${di}]`;
            if (!isObj(dpRaw)) throw new DecodeError(`${dw} must be an object`);
            const asInt = field(dpRaw, 'asInt');
            const asDouble = field(dpRaw, 'asDouble');
            const value =
              asInt !== undefined && asInt !== null
                ? toNumber(asInt, `${dw}.asInt`)
                : asDouble !== undefined && asDouble !== null
                  ? toNumber(asDouble, `${dw}.asDouble`)
                  : undefined;
            const point: ReceivedPoint = { ...base(dpRaw, dw, 'attributes'), kind };
            if (kind === 'sum') {
              point.monotonic = field(data, 'isMonotonic') === true;
              const t = temporalityOf(data);
              if (t) point.temporality = t;
            }
            if (value !== undefined) point.value = value;
            out.push({ point, time: time(dpRaw) });
          });

        const gauge = objField(mRaw, 'gauge', mw);
        const sum = objField(mRaw, 'sum', mw);
        const histogram = objField(mRaw, 'histogram', mw);
        if (gauge) numberPoints(gauge, 'gauge', `${mw}.gauge`);
        else if (sum) numberPoints(sum, 'sum', `${mw}.sum`);
        else if (histogram) {
          const hw = `${mw}.histogram`;
          const t = temporalityOf(histogram);
          arrField(histogram, 'dataPoints', hw).forEach((dpRaw, di) => {
            const dw = `${hw}.dataPoints[${di}]`;
            if (!isObj(dpRaw)) throw new DecodeError(`${dw} must be an object`);
            const point: ReceivedPoint = { ...base(dpRaw, dw, 'attributes'), kind: 'histogram' };
            if (t) point.temporality = t;
            point.count = optNumber(dpRaw, 'count', dw) ?? 0;
            const s = optNumber(dpRaw, 'sum', dw);
            if (s !== undefined) point.sum = s;
            point.bucketCounts = arrField(dpRaw, 'bucketCounts', dw).map((c, i) => toNumber(c, `${dw}.bucketCounts[${i}]`));
            point.explicitBounds = arrField(dpRaw, 'explicitBounds', dw).map((b, i) =>
              toNumber(b, `${dw}.explicitBounds[${i}]`),
            );
            out.push({ point, time: time(dpRaw) });
          });
        }
        // exponentialHistogram / summary: not decoded (see file header).
      });
    });
  });
  return out;
}

function sortedEntries(r: Record<string, AttributeValue>): [string, AttributeValue][] {
  return Object.keys(r)
    .sort()
    .map((k) => [k, r[k]] as [string, AttributeValue]);
}

/** Stable identity of a timeseries: resource + metric name + attribute set (key order ignored). */
function seriesKey(p: ReceivedPoint): string {
  return JSON.stringify([sortedEntries(p.resource), p.metric, sortedEntries(p.attributes)]);
}

function describePoint(p: ReceivedPoint): string {
  const attrs = sortedEntries(p.attributes)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',');
  const val =
    p.kind === 'histogram'
      ? `count=${p.count} sum=${p.sum} buckets=[${(p.bucketCounts ?? []).join(',')}] bounds=[${(p.explicitBounds ?? []).join(',')}]`
      : `value=${p.value}`;
  return `${p.metric} [${p.kind}${p.temporality ? `/${p.temporality}` : ''}${p.unit ? ` unit=${p.unit}` : ''}] {${attrs}} ${val}`;
}

// ---------------------------------------------------------------------------------------------
// HTTP server

type Encoding = 'json' | 'protobuf';

function encodingOf(contentType: string): Encoding | undefined {
  const media = contentType.split(';')[0].trim().toLowerCase();
  if (media === 'application/json') return 'json';
  if (media === 'application/x-protobuf' || media === 'application/protobuf') return 'protobuf';
  return undefined;
}

const MEDIA: Record<Encoding, string> = { json: 'application/json', protobuf: 'application/x-protobuf' };

/** google.rpc.Code for an HTTP status, used in Status error bodies. */
function grpcCodeFor(status: number): number {
  if (status === 400) return 3; // INVALID_ARGUMENT
  if (status === 404) return 5; // NOT_FOUND
  if (status === 429) return 8; // RESOURCE_EXHAUSTED
  if (status === 501) return 12; // UNIMPLEMENTED
  if (status === 502 || status === 503 || status === 504) return 14; // UNAVAILABLE
  return 2; // UNKNOWN
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  loadProto(); // fail fast on a broken schema, not inside a request handler
  const requests: ReceivedRequest[] = [];
  const stored: StoredPoint[] = [];
  let seq = 0;
  let forcedStatus = 200;
  let answerDelayMs = 0;
  const bodies: Buffer[] = [];
  const headers: http.IncomingHttpHeaders[] = [];

  const handle = (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => {
    const contentType = req.headers['content-type'] ?? '';
    const encoding = encodingOf(contentType);
    const replyEncoding: Encoding = encoding ?? 'json';
    const reply = (status: number, payload: Buffer, error?: string) => {
      const record: ReceivedRequest = { contentType, bytes: body.length, status };
      if (error !== undefined) record.error = error;
      requests.push(record);
      const send = () => {
        if (res.destroyed) return; // the exporter gave up waiting
        res.writeHead(status, { 'content-type': MEDIA[replyEncoding], 'content-length': payload.length });
        res.end(payload);
      };
      if (answerDelayMs > 0) setTimeout(send, answerDelayMs).unref();
      else send();
    };
    const reject = (status: number, error: string) =>
      reply(status, encodeStatus(replyEncoding, grpcCodeFor(status), error), error);

    const pathname = (req.url ?? '').split('?')[0];
    if (req.method !== 'POST') return reject(405, `method ${req.method} not allowed`);
    if (pathname !== '/v1/metrics') return reject(404, `unknown path ${pathname} (expected /v1/metrics)`);
    if (!encoding) return reject(415, `unsupported content-type ${JSON.stringify(contentType)}`);

    if (forcedStatus < 200 || forcedStatus > 299) {
      return reply(forcedStatus, encodeStatus(encoding, grpcCodeFor(forcedStatus), `simulated collector failure (${forcedStatus})`));
    }

    const contentEncoding = String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    let raw: Buffer;
    if (contentEncoding === 'gzip' || contentEncoding === 'x-gzip') {
      try {
        raw = zlib.gunzipSync(body);
      } catch (e) {
        return reject(400, `invalid gzip body: ${(e as Error).message}`);
      }
    } else if (contentEncoding === 'identity' || contentEncoding === '') {
      raw = body;
    } else {
      return reject(415, `unsupported content-encoding ${JSON.stringify(contentEncoding)}`);
    }
    bodies.push(raw);

    let decoded: { point: ReceivedPoint; time: bigint | undefined }[];
    try {
      const message: unknown = encoding === 'json' ? JSON.parse(raw.toString('utf8')) : decodeProtobuf(raw);
      decoded = normalise(message);
    } catch (e) {
      return reject(400, `cannot decode ${encoding} ExportMetricsServiceRequest: ${(e as Error).message}`);
    }
    for (const d of decoded) stored.push({ ...d, seq: seq++ });
    // Empty ExportMetricsServiceResponse: `{}` in JSON, zero bytes in protobuf.
    reply(forcedStatus, encoding === 'json' ? Buffer.from('{}') : Buffer.alloc(0));
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      headers.push(req.headers);
      try {
        handle(req, Buffer.concat(chunks), res);
      } catch (e) {
        requests.push({ contentType: req.headers['content-type'] ?? '', bytes: 0, status: 500, error: String(e) });
        if (!res.headersSent) res.writeHead(500);
        res.end();
      }
    });
    req.on('error', () => res.destroy());
  });

  const listen = (onPort: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(onPort, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const { port } = server.address() as AddressInfo;

  // Copies, so a test that mutates what it got back cannot corrupt later assertions.
  const points = () => stored.map((s) => structuredClone(s.point));

  const latest = () => {
    const best = new Map<string, StoredPoint>();
    for (const s of stored) {
      const key = seriesKey(s.point);
      const cur = best.get(key);
      // Newer timestamp wins; equal/unknown timestamps fall back to arrival order.
      if (!cur || cur.time === undefined || s.time === undefined || s.time >= cur.time) best.set(key, s);
    }
    return [...best.values()].sort((a, b) => a.seq - b.seq).map((s) => structuredClone(s.point));
  };

  const describe = () => {
    const reqs = requests.map((r, i) => `  #${i} ${r.status} ${r.contentType || '(no content-type)'} ${r.bytes}B${r.error ? ` -- ${r.error}` : ''}`);
    const pts = points();
    const shown = pts.slice(-50).map((p) => `  ${describePoint(p)}`);
    return [
      `requests (${requests.length}):`,
      ...(reqs.length ? reqs : ['  (none)']),
      `points (${pts.length}${pts.length > shown.length ? `, last ${shown.length} shown` : ''}):`,
      ...(shown.length ? shown : ['  (none)']),
    ].join('\n');
  };

  const waitFor = (predicate: (points: ReceivedPoint[]) => boolean, timeoutMs = 5000) =>
    new Promise<ReceivedPoint[]>((resolve, reject) => {
      const started = Date.now();
      let lastError: unknown;
      const check = () => {
        const snapshot = points();
        try {
          if (predicate(snapshot)) return resolve(snapshot);
          lastError = undefined;
        } catch (e) {
          lastError = e;
        }
        if (Date.now() - started >= timeoutMs) {
          const why = lastError instanceof Error ? `\nlast predicate error: ${lastError.message}` : '';
          return reject(new Error(`OtlpReceiver.waitFor: predicate not satisfied after ${timeoutMs}ms${why}\n${describe()}`));
        }
        setTimeout(check, 20);
      };
      check();
    });

  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closed;
  };

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    points,
    latest,
    waitFor,
    bodies: () => [...bodies],
    requestHeaders: () => [...headers],
    respondWith(status: number) {
      if (!Number.isInteger(status) || status < 200 || status > 599) {
        throw new RangeError(`respondWith: status must be an integer HTTP status 200..599, got ${status}`);
      }
      forcedStatus = status;
    },
    respondAfter(ms: number) {
      answerDelayMs = ms;
    },
    stopListening: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    listenAgain: () => listen(port),
    close,
  };
}
