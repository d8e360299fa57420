/**
 * Upstream routes: `--upstream <route>=<url>` or `--upstream <route>:<provider>=<url>`.
 * A request to `/<route>/<rest>` goes to `<url>/<rest>`; nothing else is ever reachable.
 */
import { defaultRoutes, findProvider, providerKeys } from '../providers/registry';
import type { ProviderProfile } from '../providers/types';
import { ConfigError } from './errors';

export interface Route {
  name: string;
  target: URL;
  provider: ProviderProfile;
  /** `server.address` / `server.port` attributes. */
  serverAddress: string;
  serverPort: number;
}

const ROUTE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function parseUpstream(spec: string): Route {
  const equals = spec.indexOf('=');
  if (equals <= 0) throw new ConfigError(`--upstream "${spec}": expected <route>=<url> or <route>:<provider>=<url>`);
  const left = spec.slice(0, equals);
  const rawUrl = spec.slice(equals + 1);
  const [name = '', explicitProvider] = left.split(':', 2);
  if (!ROUTE_NAME.test(name)) {
    throw new ConfigError(`--upstream "${spec}": route name must match ${ROUTE_NAME.source}`);
  }
  const providerKey = explicitProvider ?? name;
  const provider = findProvider(providerKey);
  if (!provider) {
    const hint = explicitProvider
      ? `unknown provider "${explicitProvider}"`
      : `route "${name}" is not a known provider; name one with ${name}:<provider>=<url>`;
    throw new ConfigError(`--upstream "${spec}": ${hint} (providers: ${providerKeys().join(', ')})`);
  }
  return buildRoute(name, rawUrl, provider, spec);
}

export function buildRoute(name: string, rawUrl: string, provider: ProviderProfile, spec = rawUrl): Route {
  let target: URL;
  try {
    target = new URL(rawUrl);
  } catch {
    throw new ConfigError(`--upstream "${spec}": "${rawUrl}" is not an absolute URL`);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new ConfigError(`--upstream "${spec}": only http and https upstreams are supported`);
  }
  if (target.search || target.hash || target.username || target.password) {
    throw new ConfigError(`--upstream "${spec}": the URL must not carry a query, fragment or credentials`);
  }
  const defaultPort = target.protocol === 'https:' ? 443 : 80;
  return {
    name,
    target,
    provider,
    serverAddress: target.hostname.replace(/^\[|\]$/g, ''),
    serverPort: target.port ? Number(target.port) : defaultPort,
  };
}

/** The routes to serve: the user's, or every provider with a public endpoint. */
export function resolveRoutes(specs: readonly string[]): Route[] {
  const routes = specs.length > 0 ? specs.map(parseUpstream) : defaultRoutes().map((d) => buildRoute(d.route, d.url, d.provider));
  const seen = new Set<string>();
  for (const route of routes) {
    if (seen.has(route.name)) throw new ConfigError(`--upstream: route "${route.name}" is configured twice`);
    seen.add(route.name);
  }
  return routes;
}
