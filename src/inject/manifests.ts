/**
 * `genai-sidecar inject` on a YAML stream: every pod template found is injected in place, by
 * editing the parsed YAML document (so comments, key order and quoting survive); documents with
 * nothing to inject are copied byte for byte.
 */
import { CST, Composer, Parser, parseAllDocuments, type Document } from 'yaml';
import { InjectError } from './errors';
import { isObject } from './json';
import { APPEND, diff, type Change, type PathSegment } from './jsonPatch';
import type { InjectOptions } from './options';
import { injectPodTemplate, templateOf } from './podTemplate';
import { podTemplateLocations, type Path } from './workloads';

export interface TemplateReport {
  /** `Kind/name` of the object holding the template. */
  ref: string;
  changed: boolean;
  warnings: string[];
}

export interface InjectedManifests {
  text: string;
  reports: TemplateReport[];
}

/** Throws InjectError (prefixed with `Kind/name`) for invalid YAML or an invalid annotation. */
export function injectManifests(text: string, options: InjectOptions): InjectedManifests {
  rejectInvalidYaml(text);
  let output = '';
  const reports: TemplateReport[] = [];
  for (const token of new Parser().parse(text)) {
    const source = CST.stringify(token);
    if (token.type !== 'document') {
      output += source; // comments, blank lines, directives and `...` between documents
      continue;
    }
    const document = composeDocument(token);
    const documentReports = injectDocument(document, options);
    reports.push(...documentReports);
    output += documentReports.some((report) => report.changed) ? document.toString(stringifyOptions(source)) : source;
  }
  return { text: output, reports };
}

function rejectInvalidYaml(text: string): void {
  for (const document of parseAllDocuments(text)) {
    const [error] = document.errors;
    if (error) throw new InjectError(`invalid YAML: ${error.message.split('\n')[0]}`);
  }
}

function composeDocument(token: CST.Token): Document.Parsed {
  const composer = new Composer();
  const documents = [...composer.next(token), ...composer.end()];
  const [document] = documents;
  if (documents.length !== 1 || document === undefined) throw new Error('one YAML document token must compose into one document');
  return document;
}

function injectDocument(document: Document.Parsed, options: InjectOptions): TemplateReport[] {
  const value: unknown = document.toJS();
  return podTemplateLocations(value).map((location) => {
    const holder = valueAt(value, location.path);
    if (!isObject(holder)) return { ref: location.ref, changed: false, warnings: ['has no pod template; left unchanged'] };
    const template = templateOf(holder);
    let result;
    try {
      result = injectPodTemplate(template, location.workload, options);
    } catch (error) {
      if (error instanceof InjectError) throw new InjectError(`${location.ref}: ${error.message}`);
      throw error;
    }
    if (result.changed) for (const change of diff(template, result.template)) applyChange(document, location.path, change);
    return { ref: location.ref, changed: result.changed, warnings: result.warnings };
  });
}

function valueAt(root: unknown, path: Path): unknown {
  let current = root;
  for (const segment of path) {
    if (Array.isArray(current) && typeof segment === 'number') current = current[segment];
    else if (isObject(current) && typeof segment === 'string') current = current[segment];
    else return undefined;
  }
  return current;
}

function applyChange(document: Document.Parsed, prefix: Path, change: Change): void {
  const path: PathSegment[] = [...prefix, ...change.path];
  if (change.op === 'remove') {
    document.deleteIn(path);
  } else if (change.op === 'add' && path[path.length - 1] === APPEND) {
    document.addIn(path.slice(0, -1), document.createNode(change.value));
  } else {
    document.setIn(path, document.createNode(change.value));
  }
}

/**
 * Keep the document's own list style: `kubectl get -o yaml` and most docs write `- ` at the
 * parent key's indentation, the yaml library indents it by default.
 */
function stringifyOptions(source: string): { lineWidth: number; flowCollectionPadding: boolean; indentSeq: boolean } {
  let indented = 0;
  let flush = 0;
  const lines = source.split('\n');
  for (let index = 1; index < lines.length; index += 1) {
    const item = /^( *)- /.exec(lines[index] ?? '');
    const parent = /^( *)[^\s#-][^#]*:\s*(?:#.*)?$/.exec(lines[index - 1] ?? '');
    if (!item || !parent) continue;
    if (item[1]?.length === parent[1]?.length) flush += 1;
    else indented += 1;
  }
  return { lineWidth: 0, flowCollectionPadding: false, indentSeq: flush === 0 || indented > flush };
}
