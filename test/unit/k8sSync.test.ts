/**
 * k8s/<base>/config/ holds copies of the repository's collector, Prometheus and Grafana files (kustomize
 * cannot read outside a base) plus the kustomizations listing them, and k8s/overlays/thanos/config/
 * the Grafana datasource of the Thanos overlay. They come from one generator,
 * src/observability/k8sFiles.ts; this test fails when a committed file has drifted from it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { k8sConfigBases, renderK8sCopies, THANOS_DATASOURCE_COPY, THANOS_OVERLAY_CONFIG } from '../../src/observability/k8sFiles';

const ROOT = path.resolve(__dirname, '../..');
const FIX = 'run `make generate` and commit the result';

const expected = renderK8sCopies(ROOT);

test.each(Object.keys(expected).sort())('%s matches its source', (file) => {
  const target = path.join(ROOT, file);
  if (!existsSync(target)) throw new Error(`${file} is missing: ${FIX}`);
  if (readFileSync(target, 'utf8') !== expected[file]) throw new Error(`${file} differs from what the generator renders: ${FIX}`);
});

test('no config/ folder holds a file without a source', () => {
  const stray = [...k8sConfigBases(ROOT).map((base) => `${base.base}/config`), THANOS_OVERLAY_CONFIG]
    .flatMap((dir) => filesUnder(path.join(ROOT, dir)))
    .map((file) => path.relative(ROOT, file).split(path.sep).join('/'))
    .filter((file) => !(file in expected));
  expect(stray.map((file) => `${file} has no source any more: delete it, then ${FIX}`)).toEqual([]);
});

test('every configuration file at the root is deployed by some ConfigMap', () => {
  const deployed = new Set(k8sConfigBases(ROOT).flatMap((base) => base.configMaps.flatMap((configMap) => configMap.files)));
  const relative = (file: string): string => path.relative(ROOT, file).split(path.sep).join('/');
  const sources = [
    'collector-config.yaml',
    'collector/router-config.yaml',
    'prometheus/prometheus.yml',
    ...filesUnder(path.join(ROOT, 'prometheus/rules')).map(relative).filter((f) => /\.ya?ml$/.test(f)),
    ...filesUnder(path.join(ROOT, 'grafana/provisioning')).map(relative).filter((f) => /\.ya?ml$/.test(f)),
    ...filesUnder(path.join(ROOT, 'grafana/dashboards')).map(relative).filter((f) => f.endsWith('.json')),
  ];
  expect(sources.filter((file) => !deployed.has(file))).toEqual([]);
});

test("both collector tiers' configs sit side by side in one ConfigMap, where the pods read /conf/<file>", () => {
  const collector = k8sConfigBases(ROOT).find((base) => base.base === 'k8s/collector');
  expect(collector?.configMaps.map((configMap) => [configMap.name, configMap.files])).toEqual([['otel-collector-config', ['collector-config.yaml', 'collector/router-config.yaml']]]);
  expect(expected['k8s/collector/config/collector-config.yaml']).toBe(readFileSync(path.join(ROOT, 'collector-config.yaml'), 'utf8'));
  expect(expected['k8s/collector/config/router-config.yaml']).toBe(readFileSync(path.join(ROOT, 'collector/router-config.yaml'), 'utf8'));
  expect(expected['k8s/collector/config/kustomization.yaml']).toContain('      - collector-config.yaml\n      - router-config.yaml\n');
});

test('files the same `make generate` run is about to write are copied as they will be', () => {
  const dashboard = '{"title": "pending"}\n';
  const rules = '# pending rules\n';
  const copies = renderK8sCopies(ROOT, { 'grafana/dashboards/zz-pending.json': dashboard, 'prometheus/rules/genai-sidecar.rules.yml': rules });
  expect(copies['k8s/grafana/config/dashboards/zz-pending.json']).toBe(dashboard);
  expect(copies['k8s/grafana/config/kustomization.yaml']).toContain('dashboards/zz-pending.json');
  expect(copies['k8s/prometheus/config/rules/genai-sidecar.rules.yml']).toBe(rules);
});

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(path.join(dir, entry.name)) : [path.join(dir, entry.name)],
  );
}

test("the Thanos overlay's datasource is the base's, pointing at Thanos Query", () => {
  const datasource = (text: string | undefined): Record<string, unknown> => (parse(text ?? '') as { datasources: Record<string, unknown>[] }).datasources[0] ?? {};
  const thanos = datasource(expected[THANOS_DATASOURCE_COPY]);
  const prometheus = datasource(expected['k8s/grafana/config/provisioning/datasources/prometheus.yaml']);
  expect(thanos).toMatchObject({ uid: prometheus.uid, name: prometheus.name, type: prometheus.type, url: 'http://thanos-query:9090', jsonData: { prometheusType: 'Thanos' } });
});
