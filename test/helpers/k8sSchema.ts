/**
 * Strict, offline validation of Kubernetes objects against the Kubernetes OpenAPI schemas, like
 * `kubeconform -strict`: wrong types, missing required fields and unknown fields are all errors.
 *
 * Built-in kinds: the `kubernetes-models` package (Kubernetes 1.34 API) ships one validator per
 * OpenAPI definition, compiled by Ajv from the upstream schemas. Those schemas do not forbid
 * unknown fields, so we add that here: while a validator runs, every object it is given is
 * wrapped in a Proxy that records which property names the validator reads. A compiled
 * `properties` keyword reads each declared name (present or not), and an
 * `additionalProperties` map (labels, annotations, ConfigMap data) reads each key it holds. After
 * validation, any key of an object that the validator inspected but never read is a field the
 * schema does not declare. An object whose keys were never read at all is free-form in the
 * schema (e.g. `x-kubernetes-preserve-unknown-fields`) and is left alone, as kubeconform does.
 *
 * cert-manager kinds: JSON Schemas committed in `test/fixtures/k8s-schemas/` (see SOURCE.md),
 * made strict by adding `additionalProperties: false` to every object schema with `properties`;
 * their `metadata` is checked against the built-in ObjectMeta validator.
 *
 * `kubernetes-models` is ESM-only, so its validators load asynchronously: call
 * `await loadKubernetesSchemas()` once (e.g. in `beforeAll`) before `validateKubernetesObject`.
 * Under jest that needs `--experimental-vm-modules`, which `make test` and `npm test` set.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import path from 'node:path';

type Validator = ((data: unknown) => boolean) & { errors?: Partial<ErrorObject>[] | null };

/** Built-in kinds `loadKubernetesSchemas()` makes available; add a kind here to validate it. */
export const BUILT_IN_KINDS: readonly string[] = [
  'v1/ConfigMap',
  'v1/Namespace',
  'v1/PersistentVolumeClaim',
  'v1/Pod',
  'v1/Secret',
  'v1/Service',
  'v1/ServiceAccount',
  'apps/v1/DaemonSet',
  'apps/v1/Deployment',
  'apps/v1/ReplicaSet',
  'apps/v1/StatefulSet',
  'batch/v1/CronJob',
  'batch/v1/Job',
  'policy/v1/PodDisruptionBudget',
  'networking.k8s.io/v1/Ingress',
  'networking.k8s.io/v1/NetworkPolicy',
  'autoscaling/v2/HorizontalPodAutoscaler',
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration',
  'admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration',
  'rbac.authorization.k8s.io/v1/ClusterRole',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding',
  'rbac.authorization.k8s.io/v1/Role',
  'rbac.authorization.k8s.io/v1/RoleBinding',
];

/** Custom resources with a schema committed under test/fixtures/k8s-schemas/. */
const CUSTOM_KINDS: Record<string, string> = {
  'cert-manager.io/v1/Certificate': 'cert-manager.io_v1_certificate.json',
  'cert-manager.io/v1/Issuer': 'cert-manager.io_v1_issuer.json',
};

const SCHEMA_DIR = path.resolve(__dirname, '../fixtures/k8s-schemas');
const OBJECT_META = '@kubernetes-models/apimachinery/_schemas/IoK8sApimachineryPkgApisMetaV1ObjectMeta';

interface Schemas {
  builtIn: Map<string, Validator>;
  objectMeta: Validator;
  custom: Map<string, ValidateFunction>;
}

let schemas: Schemas | undefined;
let loading: Promise<void> | undefined;

/** Loads every validator once; later calls return the same promise. */
export function loadKubernetesSchemas(): Promise<void> {
  loading ??= load().then((loaded) => {
    schemas = loaded;
  });
  return loading;
}

/**
 * Errors of one parsed Kubernetes object (`[]` when valid), each as
 * `Kind/name: /json/pointer: problem`.
 */
export function validateKubernetesObject(doc: unknown): string[] {
  if (!schemas) throw new Error('call `await loadKubernetesSchemas()` (e.g. in beforeAll) before validateKubernetesObject');
  if (!isPlainObject(doc)) return ['document: not a mapping'];
  const { apiVersion, kind } = doc;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return ['document: apiVersion and kind must be strings'];
  const label = `${kind}/${objectName(doc)}`;
  const key = typeKey(apiVersion, kind);
  const builtIn = schemas.builtIn.get(key);
  const custom = schemas.custom.get(key);
  let problems: string[];
  if (builtIn) {
    problems = validateStrictly(builtIn, doc, '');
  } else if (custom) {
    problems = validateCustom(custom, schemas.objectMeta, doc);
  } else {
    problems = [`no schema for apiVersion ${apiVersion}, kind ${kind} (add it to BUILT_IN_KINDS in test/helpers/k8sSchema.ts)`];
  }
  return problems.map((problem) => `${label}: ${problem}`);
}

function validateCustom(validate: ValidateFunction, objectMeta: Validator, doc: Record<string, unknown>): string[] {
  const problems = validate(doc) ? [] : (validate.errors ?? []).map(describe);
  if (doc.metadata !== undefined) problems.push(...validateStrictly(objectMeta, doc.metadata, '/metadata'));
  return problems;
}

/** Runs a compiled validator over a recording Proxy, then reports fields it never read. */
function validateStrictly(validate: Validator, doc: unknown, basePath: string): string[] {
  const reads = new Map<object, Set<string>>();
  const valid = validate(recordReads(doc, reads, new Map()));
  const problems = valid ? [] : (validate.errors ?? []).map((error) => describe({ ...error, instancePath: basePath + (error.instancePath ?? '') }));
  problems.push(...unknownFields(doc, reads, basePath));
  return problems;
}

function recordReads<T>(value: T, reads: Map<object, Set<string>>, proxies: Map<object, object>): T {
  if (value === null || typeof value !== 'object') return value;
  const existing = proxies.get(value);
  if (existing) return existing as T;
  const readKeys = new Set<string>();
  reads.set(value, readKeys);
  const proxy = new Proxy(value, {
    get(target, property, receiver) {
      if (typeof property === 'string') readKeys.add(property);
      return recordReads(Reflect.get(target, property, receiver) as unknown, reads, proxies);
    },
  });
  proxies.set(value, proxy);
  return proxy;
}

function unknownFields(value: unknown, reads: Map<object, Set<string>>, pointer: string): string[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => unknownFields(item, reads, `${pointer}/${index}`));
  if (!isPlainObject(value)) return [];
  const readKeys = reads.get(value);
  const problems: string[] = [];
  for (const [key, child] of Object.entries(value)) {
    const childPointer = `${pointer}/${escapePointer(key)}`;
    if (readKeys && readKeys.size > 0 && !readKeys.has(key)) problems.push(`${childPointer}: unknown field`);
    else problems.push(...unknownFields(child, reads, childPointer));
  }
  return problems;
}

function describe(error: Partial<ErrorObject>): string {
  const where = error.instancePath || '/';
  const params = (error.params ?? {}) as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return `${where}/${escapePointer(String(params.additionalProperty))}: unknown field`;
    case 'required':
      return `${where}: missing required field "${String(params.missingProperty)}"`;
    case 'type':
      return `${where}: must be ${String(params.type)}`;
    case 'enum':
      return `${where}: must be one of ${JSON.stringify(params.allowedValues)}`;
    case 'format':
      return `${where}: must match format ${String(params.format)}`;
    default:
      return `${where}: ${error.message ?? `fails ${error.keyword ?? 'schema'} ${JSON.stringify(params)}`}`;
  }
}

async function load(): Promise<Schemas> {
  const builtIn = new Map<string, Validator>();
  for (const key of BUILT_IN_KINDS) builtIn.set(key, await importValidator(`kubernetes-models/_schemas/${definitionName(key)}`));
  const objectMeta = await importValidator(OBJECT_META);
  const ajv = new Ajv({ allErrors: true, strict: true });
  // OpenAPI's integer formats, which JSON Schema does not define.
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  const custom = new Map<string, ValidateFunction>();
  for (const [key, file] of Object.entries(CUSTOM_KINDS)) {
    const schema = JSON.parse(readFileSync(path.join(SCHEMA_DIR, file), 'utf8')) as JsonSchema;
    custom.set(key, ajv.compile(strictSchema(schema)));
  }
  return { builtIn, objectMeta, custom };
}

// TypeScript turns `import()` into `require()` for CommonJS output, and kubernetes-models has no
// CommonJS build, so the dynamic import is kept out of the compiler's sight. A direct eval, not
// `new Function`: eval'd code imports through this module's own loader (under jest, the current
// test file's), while a `Function` may be bound to a test file jest has already torn down.
function importModule(specifier: string): Promise<unknown> {
  return eval(`import(${JSON.stringify(specifier)})`) as Promise<unknown>;
}

async function importValidator(specifier: string): Promise<Validator> {
  let loaded: unknown;
  try {
    loaded = await importModule(specifier);
  } catch (error) {
    const hint = String(error).includes('VM_DYNAMIC_IMPORT') ? ' (run jest with NODE_OPTIONS=--experimental-vm-modules, as `make test` does)' : '';
    throw new Error(`cannot load ${specifier}${hint}: ${String(error)}`);
  }
  const validate = (loaded as { validate?: unknown }).validate;
  if (typeof validate !== 'function') throw new Error(`${specifier} exports no validate function`);
  return validate as Validator;
}

/** `apps/v1/Deployment` -> `IoK8sApiAppsV1Deployment`, the definition name kubernetes-models uses. */
function definitionName(key: string): string {
  const parts = key.split('/');
  const kind = parts.pop() as string;
  const version = parts.pop() as string;
  const group = parts.length > 0 ? (parts[0] as string).split('.')[0] as string : 'core';
  return `IoK8sApi${capitalize(group)}${capitalize(version)}${kind}`;
}

interface JsonSchema {
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  $defs?: Record<string, JsonSchema>;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  [keyword: string]: unknown;
}

/** Every object schema that lists `properties` rejects any other field; maps stay maps. */
function strictSchema(schema: JsonSchema): JsonSchema {
  const strict: JsonSchema = { ...schema };
  if (schema.properties) {
    strict.properties = mapValues(schema.properties, strictSchema);
    strict.additionalProperties ??= false;
  }
  if (typeof schema.additionalProperties === 'object') strict.additionalProperties = strictSchema(schema.additionalProperties);
  if (schema.items) strict.items = strictSchema(schema.items);
  if (schema.$defs) strict.$defs = mapValues(schema.$defs, strictSchema);
  for (const keyword of ['anyOf', 'oneOf', 'allOf'] as const) {
    const branches = schema[keyword];
    if (branches) strict[keyword] = branches.map(strictSchema);
  }
  return strict;
}

function mapValues<T, U>(record: Record<string, T>, map: (value: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, map(value)]));
}

function typeKey(apiVersion: string, kind: string): string {
  return `${apiVersion}/${kind}`;
}

function objectName(doc: Record<string, unknown>): string {
  const metadata = doc.metadata;
  return isPlainObject(metadata) && typeof metadata.name === 'string' ? metadata.name : '<unnamed>';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}
