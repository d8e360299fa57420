/**
 * Upstream routes: `--upstream <route>=<url>` or `--upstream <route>:<provider>=<url>`.
 * A request to `/<route>/<rest>` goes to `<url>/<rest>`; nothing else is ever reachable.
 */
import { defaultRoutes, findProvider, providerKeys } from '../providers/registry';
import type { ProviderProfile } from '../providers/types';
import { redactUrl } from '../log/redact';
import { regionOf } from '../aws/region';
import { ConfigError } from './errors';

export interface Route {
  name: string;
  target: URL;
  /** What the proxy reads of `target` on every call, taken once: URL's getters work it out anew each time. */
  upstream: { origin: string; host: string; basePath: string };
  provider: ProviderProfile;
  /** `server.address` / `server.port` attributes. */
  serverAddress: string;
  serverPort: number;
  /** Where the sidecar signs this route's requests for (providers with `awsSigning`: Bedrock). */
  signing?: { service: string; region: string };
}

const ROUTE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** `origin` names where the spec came from (the flag or its env variable) in error messages. */
export function parseUpstream(spec: string, origin = '--upstream'): Route {
  // Error messages reach logs: the URL is shown without the credentials it must not carry anyway.
  const where = `${origin} "${redactUrl(spec)}"`;
  const equals = spec.indexOf('=');
  if (equals <= 0) throw new ConfigError(`${where}: expected <route>=<url> or <route>:<provider>=<url>`);
  const left = spec.slice(0, equals);
  const rawUrl = spec.slice(equals + 1);
  const colon = left.indexOf(':');
  const name = colon < 0 ? left : left.slice(0, colon);
  const explicitProvider = colon < 0 ? undefined : left.slice(colon + 1);
  if (!ROUTE_NAME.test(name)) {
    throw new ConfigError(`${where}: route name must match ${ROUTE_NAME.source}`);
  }
  const providerKey = explicitProvider ?? name;
  const provider = findProvider(providerKey);
  if (!provider) {
    const hint =
      explicitProvider !== undefined
        ? `unknown provider "${explicitProvider}"`
        : `route "${name}" is not a known provider; name one with ${name}:<provider>=<url>`;
    throw new ConfigError(`${where}: ${hint} (providers: ${providerKeys().join(', ')})`);
  }
  return buildRoute(name, rawUrl, provider, spec, origin);
}

export function buildRoute(name: string, rawUrl: string, provider: ProviderProfile, spec = rawUrl, origin = '--upstream'): Route {
  // Error messages reach logs: the URL is shown without the credentials it must not carry anyway.
  const where = `${origin} "${redactUrl(spec)}"`;
  let target: URL;
  try {
    target = new URL(rawUrl);
  } catch {
    throw new ConfigError(`${where}: "${rawUrl}" is not an absolute URL`);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new ConfigError(`${where}: only http and https upstreams are supported`);
  }
  if (target.search || target.hash || target.username || target.password) {
    throw new ConfigError(`${where}: the URL must not carry a query, fragment or credentials`);
  }
  const defaultPort = target.protocol === 'https:' ? 443 : 80;
  return {
    name,
    target,
    upstream: { origin: target.origin, host: target.host, basePath: target.pathname.replace(/\/$/, '') },
    provider,
    serverAddress: target.hostname.replace(/^\[|\]$/g, ''),
    serverPort: target.port ? Number(target.port) : defaultPort,
  };
}

/**
 * Routes whose provider needs its requests signed, with the region to sign for: the upstream's
 * host name (bedrock-runtime.<region>.amazonaws.com), else AWS_REGION / AWS_DEFAULT_REGION.
 */
export function withSigningRegions(routes: readonly Route[], env: Readonly<Record<string, string | undefined>>): Route[] {
  return routes.map((route) => {
    const signing = route.provider.awsSigning;
    if (signing === undefined) return route;
    const region = regionOf(route.target, env);
    if (region === undefined) {
      throw new ConfigError(`route "${route.name}" signs its requests for AWS but names no region: use https://bedrock-runtime.<region>.amazonaws.com or set AWS_REGION`);
    }
    return { ...route, signing: { service: signing.service, region } };
  });
}

/** The routes to serve: the user's, or every provider with a public endpoint. */
export function resolveRoutes(specs: readonly string[], origin = '--upstream'): Route[] {
  const routes = specs.length > 0 ? specs.map((spec) => parseUpstream(spec, origin)) : defaultRoutes().map((d) => buildRoute(d.route, d.url, d.provider));
  const seen = new Set<string>();
  for (const route of routes) {
    if (seen.has(route.name)) throw new ConfigError(`${origin}: route "${route.name}" is configured twice`);
    seen.add(route.name);
  }
  return routes;
}
