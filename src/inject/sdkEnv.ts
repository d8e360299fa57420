/**
 * The SDK base-URL variables that point an app at its sidecar, one per configured route whose
 * provider has one (registry.ts `sdkBaseUrl`): OPENAI_BASE_URL=http://127.0.0.1:8787/openai/v1...
 */
import type { Route } from '../config/routes';
import { PROXY_HOST, PROXY_PORT } from './sidecarContainer';

export interface SdkVariable {
  name: string;
  value: string;
}

export function sdkVariables(routes: readonly Route[]): { variables: SdkVariable[]; warnings: string[] } {
  const variables: SdkVariable[] = [];
  const warnings: string[] = [];
  const routeOf = new Map<string, string>();
  for (const route of routes) {
    const sdk = route.provider.sdkBaseUrl;
    if (!sdk) continue;
    const first = routeOf.get(sdk.env);
    if (first !== undefined) {
      warnings.push(`routes "${first}" and "${route.name}" both map to ${sdk.env}; it points at "${first}"`);
      continue;
    }
    routeOf.set(sdk.env, route.name);
    variables.push({ name: sdk.env, value: `http://${PROXY_HOST}:${PROXY_PORT}/${route.name}${sdk.path}` });
  }
  return { variables, warnings };
}
