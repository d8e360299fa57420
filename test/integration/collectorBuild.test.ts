/**
 * The collector we ship, as built by `make collector` from collector/builder-config.yaml: one
 * release for every module, exactly the components the shipped configs use, and `validate`
 * accepting every shipped config (the repository's and the copies k8s/ deploys).
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { collectorBinary, COLLECTOR_MANIFEST, K8S_ROUTER_CONFIG, K8S_WRITER_CONFIG, REPO_ROOT, ROUTER_CONFIG, validateConfig, WRITER_CONFIG } from '../helpers/otelcol';

jest.setTimeout(60_000);

const KINDS = ['receivers', 'processors', 'exporters', 'extensions', 'connectors'] as const;
type Kind = (typeof KINDS)[number];

interface Manifest {
  dist: { name: string; version: string };
  [kind: string]: unknown;
}

const manifest = parse(readFileSync(COLLECTOR_MANIFEST, 'utf8')) as Manifest;
const SHIPPED = [WRITER_CONFIG, K8S_WRITER_CONFIG, ROUTER_CONFIG, K8S_ROUTER_CONFIG];

function run(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(collectorBinary(), args, { timeout: 30_000 }, (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)));
  });
}

/** Component types a config uses, by kind (`transform/allowlist` is of type `transform`). */
function typesUsed(file: string): Record<Kind, Set<string>> {
  const config = parse(readFileSync(file, 'utf8')) as Partial<Record<Kind, Record<string, unknown>>>;
  const used = {} as Record<Kind, Set<string>>;
  for (const kind of KINDS) used[kind] = new Set(Object.keys(config[kind] ?? {}).map((id) => id.split('/')[0] ?? id));
  return used;
}

test('every collector module is pinned at one release (contrib and core v0.x at one version, core v1.x at its pair)', () => {
  const versions = new Set<string>();
  for (const kind of [...KINDS, 'providers']) {
    for (const entry of (manifest[kind] as Array<{ gomod: string }> | undefined) ?? []) {
      const [module, version] = entry.gomod.split(' ');
      expect({ module, pinned: /^v\d+\.\d+\.\d+$/.test(version ?? '') }).toEqual({ module, pinned: true });
      versions.add(version?.startsWith('v0.') ? `beta ${version}` : `stable ${version}`);
    }
  }
  expect([...versions].sort()).toEqual(['beta v0.161.0', 'stable v1.67.0']);
  expect(manifest.dist.version.startsWith('0.161.0')).toBe(true);
});

test('the binary is the manifest: its version, and exactly the components the shipped configs use', async () => {
  expect(await run(['--version'])).toContain(`${manifest.dist.name} version ${manifest.dist.version}`);
  const built = parse(await run(['components'])) as Partial<Record<Kind, Array<{ name: string }>>>;
  const used = [WRITER_CONFIG, ROUTER_CONFIG].map(typesUsed);
  for (const kind of KINDS) {
    const inBinary = (built[kind] ?? []).map((component) => component.name).sort();
    const inConfigs = [...new Set(used.flatMap((u) => [...u[kind]]))].sort();
    expect({ kind, components: inBinary }).toEqual({ kind, components: inConfigs });
  }
});

test.each(SHIPPED.map((file) => [path.relative(REPO_ROOT, file), file]))('`otelcol-genai validate` accepts %s', async (_name, file) => {
  const result = await validateConfig(file);
  expect({ code: result.code, output: result.code === 0 ? '' : result.output }).toEqual({ code: 0, output: '' });
});

test('`validate` is a real check: a misspelled processor is refused, naming it', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'otelcol-validate-'));
  try {
    const broken = path.join(dir, 'broken.yaml');
    writeFileSync(broken, readFileSync(WRITER_CONFIG, 'utf8').replace(/^  memory_limiter:/m, '  memorylimiter:').replace('processors: [memory_limiter,', 'processors: [memorylimiter,'));
    const result = await validateConfig(broken);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('memorylimiter');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the shipped configs and the compose file name the one release they are built for', () => {
  for (const file of [WRITER_CONFIG, ROUTER_CONFIG]) expect(readFileSync(file, 'utf8')).toContain('otelcol-genai 0.161.0');
  expect(readFileSync(path.join(REPO_ROOT, 'docker-compose.yaml'), 'utf8')).toContain(`otelcol-genai:${manifest.dist.version}`);
});
