/**
 * AdmissionReview v1 in, AdmissionReview v1 out: the pod's JSONPatch comes from the same
 * injectPodTemplate as `genai-sidecar inject`. Every answer is `allowed: true`; anything that
 * goes wrong becomes a warning, because this webhook must never block a deployment.
 */
import { InjectError } from '../inject/errors';
import { isObject, type JsonObject } from '../inject/json';
import { diff, toJsonPatch, type JsonPatchOperation } from '../inject/jsonPatch';
import type { InjectOptions } from '../inject/options';
import { injectPodTemplate, templateOf } from '../inject/podTemplate';
import { workloadOfPod } from '../inject/workloads';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
const WARNING_PREFIX = 'genai-sidecar: ';

export interface AdmissionResponse {
  uid: string;
  allowed: true;
  patchType?: 'JSONPatch';
  /** Base64 of the JSONPatch. */
  patch?: string;
  warnings?: string[];
}

export interface AdmissionReviewResponse {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

export type Outcome = 'injected' | 'unchanged' | 'ignored' | 'failed';

export interface Review {
  review: AdmissionReviewResponse;
  outcome: Outcome;
  /** `namespace/name` (or generateName) of the pod, for logs. */
  pod?: string;
  patch: JsonPatchOperation[];
}

/** An answer that admits the object unchanged, telling the user why (kubectl prints warnings). */
export function admitUnchanged(uid: string, warning?: string): AdmissionReviewResponse {
  return {
    apiVersion: ADMISSION_API_VERSION,
    kind: 'AdmissionReview',
    response: { uid, allowed: true, ...(warning !== undefined ? { warnings: [`${WARNING_PREFIX}${warning}`] } : {}) },
  };
}

export function reviewAdmission(body: unknown, options: InjectOptions): Review {
  const request = isObject(body) && isObject(body.request) ? body.request : undefined;
  const uid = typeof request?.uid === 'string' ? request.uid : '';
  if (!isObject(body) || body.apiVersion !== ADMISSION_API_VERSION || body.kind !== 'AdmissionReview' || request === undefined || uid === '') {
    return failed(uid, `not an ${ADMISSION_API_VERSION} AdmissionReview request; admitted unchanged`);
  }
  // Only pod creation is ours; whatever else the webhook configuration sends passes untouched.
  const kind = isObject(request.kind) ? request.kind.kind : undefined;
  if (kind !== 'Pod' || request.operation !== 'CREATE' || (request.subResource !== undefined && request.subResource !== '')) {
    return { review: admitUnchanged(uid), outcome: 'ignored', patch: [] };
  }
  const pod = request.object;
  if (!isObject(pod)) return failed(uid, 'the request carries no pod; admitted unchanged');
  const ref = podRef(pod, request.namespace);

  const template = templateOf(pod);
  let result;
  try {
    result = injectPodTemplate(template, workloadOfPod(template.metadata), options);
  } catch (error) {
    const reason = error instanceof InjectError ? error.message : `internal error (${error instanceof Error ? error.message : String(error)})`;
    return { ...failed(uid, `${reason}; pod admitted without the sidecar`), pod: ref };
  }
  const patch = result.changed ? toJsonPatch(diff(template, result.template)) : [];
  const response: AdmissionResponse = { uid, allowed: true };
  if (patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(patch)).toString('base64');
  }
  if (result.warnings.length > 0) response.warnings = result.warnings.map((warning) => `${WARNING_PREFIX}${warning}`);
  return {
    review: { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response },
    outcome: patch.length > 0 ? 'injected' : 'unchanged',
    pod: ref,
    patch,
  };
}

function failed(uid: string, warning: string): Review {
  return { review: admitUnchanged(uid, warning), outcome: 'failed', patch: [] };
}

function podRef(pod: JsonObject, requestNamespace: unknown): string {
  const metadata = isObject(pod.metadata) ? pod.metadata : {};
  const namespace = typeof requestNamespace === 'string' && requestNamespace ? requestNamespace : String(metadata.namespace ?? '');
  const name = typeof metadata.name === 'string' && metadata.name ? metadata.name : `${String(metadata.generateName ?? '')}*`;
  return `${namespace}/${name}`;
}
