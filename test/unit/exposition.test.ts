import { CONTENT_TYPE, escapeLabelValue, expose, labelSetOf, negotiateFormat, type Family, type LabelSet } from '../../src/telemetry/exposition';

/** A label set from its text form, `a="x",b="y"` (plain values only). */
const L = (text: string): LabelSet => labelSetOf([...text.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!] as const));

const FAMILIES: Family[] = [
  { kind: 'info', name: 'target_info', help: 'Target metadata', series: [{ labels: L('k8s_pod_name="web-1"'), value: 1 }] },
  { kind: 'counter', name: 'genai_sidecar_client_cost_usd_total', help: 'Cost "in" USD\\n', series: [{ labels: L('model="a"'), value: 0.5 }, { labels: L(''), value: 2 }] },
  { kind: 'gauge', name: 'genai_sidecar_ratelimit_reset_seconds', help: 'Reset.', unit: 'seconds', series: [{ labels: L('r="tokens"'), value: 12 }] },
  {
    kind: 'histogram',
    name: 'gen_ai_client_operation_duration_seconds',
    help: 'Duration.',
    unit: 'seconds',
    series: [{ labels: L('model="a"'), bounds: [0.5, 1, 2], counts: [1, 0, 2, 3], sum: 9.5, count: 6 }],
  },
  { kind: 'gauge', name: 'empty_family', help: 'No series: not written at all.', series: [] },
];

const text = (format: 'text' | 'openmetrics'): string => Buffer.concat([...expose(FAMILIES, format)]).toString('utf8');

describe('the text format 0.0.4', () => {
  const page = text('text');
  test('counters keep _total in their metadata, info is a gauge, histograms are cumulative with +Inf = count', () => {
    expect(page).toContain('# TYPE genai_sidecar_client_cost_usd_total counter\ngenai_sidecar_client_cost_usd_total{model="a"} 0.5\ngenai_sidecar_client_cost_usd_total 2\n');
    expect(page).toContain('# TYPE target_info gauge\ntarget_info{k8s_pod_name="web-1"} 1\n');
    expect(page).toContain(
      [
        'gen_ai_client_operation_duration_seconds_bucket{model="a",le="0.5"} 1',
        'gen_ai_client_operation_duration_seconds_bucket{model="a",le="1"} 1',
        'gen_ai_client_operation_duration_seconds_bucket{model="a",le="2"} 3',
        'gen_ai_client_operation_duration_seconds_bucket{model="a",le="+Inf"} 6',
        'gen_ai_client_operation_duration_seconds_sum{model="a"} 9.5',
        'gen_ai_client_operation_duration_seconds_count{model="a"} 6',
      ].join('\n'),
    );
  });
  test('no UNIT lines, no EOF, HELP escapes backslashes but not quotes, empty families are left out', () => {
    expect(page).not.toContain('# UNIT');
    expect(page).not.toContain('# EOF');
    expect(page).toContain('# HELP genai_sidecar_client_cost_usd_total Cost "in" USD\\\\n\n');
    expect(page).not.toContain('empty_family');
  });
});

describe('OpenMetrics 1.0.0', () => {
  const page = text('openmetrics');
  test('counter and info families drop their suffix, samples keep it; UNIT where the name ends in it; EOF last', () => {
    expect(page).toContain('# TYPE genai_sidecar_client_cost_usd counter\ngenai_sidecar_client_cost_usd_total{model="a"} 0.5\n');
    expect(page).toContain('# TYPE target info\ntarget_info{k8s_pod_name="web-1"} 1\n');
    expect(page).toContain('# UNIT gen_ai_client_operation_duration_seconds seconds\n');
    expect(page).toContain('# UNIT genai_sidecar_ratelimit_reset_seconds seconds\n');
    expect(page.endsWith('# EOF\n')).toBe(true);
    expect(page.match(/# EOF/g)).toHaveLength(1);
  });
  test('le values are floats and HELP escapes quotes', () => {
    expect(page).toContain('le="1.0"} 1\n');
    expect(page).toContain('le="2.0"} 3\n');
    expect(page).toContain('le="0.5"} 1\n');
    expect(page).toContain('# HELP genai_sidecar_client_cost_usd Cost \\"in\\" USD\\\\n\n');
  });
});

test('a large family comes out in several slices, and together they are the whole page', () => {
  const series = Array.from({ length: 5000 }, (_, index) => ({ labels: L(`n="${index}",pad="${'x'.repeat(20)}"`), value: index }));
  const slices = [...expose([{ kind: 'gauge', name: 'g', help: 'h', series }], 'text')];
  expect(slices.length).toBeGreaterThan(2);
  for (const slice of slices) expect(slice.length).toBeLessThanOrEqual(64 * 1024);
  const lines = Buffer.concat(slices).toString('utf8').split('\n').filter((line) => line.startsWith('g{'));
  expect(lines).toHaveLength(5000);
  expect(lines[4999]).toBe(`g{n="4999",pad="${'x'.repeat(20)}"} 4999`);
});

test('label values in UTF-8 and series without labels come out whole', () => {
  const page = Buffer.concat([
    ...expose(
      [
        { kind: 'gauge', name: 'g', help: 'h', series: [{ labels: L('tenant="Zürich ☃"'), value: 1 }, { labels: L(''), value: 2 }] },
        { kind: 'histogram', name: 'h', help: 'h', series: [{ labels: L(''), bounds: [1], counts: [1, 1], sum: 3, count: 2 }] },
      ],
      'text',
    ),
  ]).toString('utf8');
  expect(page).toContain('g{tenant="Zürich ☃"} 1\ng 2\n');
  expect(page).toContain('h_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3\nh_count 2\n');
});

test('label values escape backslash, quote and line feed', () => {
  expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
  expect(escapeLabelValue('plain')).toBe('plain');
});

describe('content negotiation, as Prometheus asks', () => {
  test.each([
    // Prometheus 3.x's default scrape_protocols.
    ['application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1', 'openmetrics'],
    // scrape_protocols: [PrometheusText0.0.4]
    ['text/plain;version=0.0.4;q=0.2,*/*;q=0.1', 'text'],
    // Prometheus with native histograms on asks for protobuf first.
    ['application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3', 'protobuf'],
    ['application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text;q=0.6,text/plain;version=0.0.4;q=0.3', 'text'],
    ['application/openmetrics-text', 'openmetrics'],
    ['application/openmetrics-text;version=2.0.0, text/plain', 'text'],
    ['text/plain;q=0.9, application/openmetrics-text;q=1', 'openmetrics'],
    ['application/openmetrics-text;q=0', 'text'],
    ['*/*', 'text'],
    [undefined, 'text'],
    ['garbage;;;,,', 'text'],
  ] as const)('%s -> %s', (accept, format) => {
    expect(negotiateFormat(accept)).toBe(format);
  });
  test('content types name the version', () => {
    expect(CONTENT_TYPE.text).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(CONTENT_TYPE.openmetrics).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
  });
});
