/**
 * nginx configurations the benchmark writes into its temp dir. Pure. Both run as one process
 * (`master_process off`), the fair match for the sidecar's one Node process, with every path
 * (pid, logs, temp files) inside the temp dir and nothing included from /etc/nginx.
 */

export interface NginxBase {
  /** The temp dir: pid, error log and nginx's temp folders go here. */
  dir: string;
  name: string;
  port: number;
}

export interface ProxyRoute {
  /** URL prefix, e.g. "/openai/"; stripped before forwarding. */
  prefix: string;
  upstreamPort: number;
  /** Pass SSE through as it comes (like the sidecar) instead of buffering. */
  streaming: boolean;
}

function common(base: NginxBase, http: string): string {
  const { dir, name } = base;
  return `# Written by the genai-sidecar benchmark (bench/lib/nginxConfig.ts).
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/${name}.pid;
error_log ${dir}/${name}-error.log warn;
events {
  worker_connections 4096;
}
http {
  access_log off;
  client_body_temp_path ${dir}/${name}-client-body;
  proxy_temp_path ${dir}/${name}-proxy;
  fastcgi_temp_path ${dir}/${name}-fastcgi;
  uwsgi_temp_path ${dir}/${name}-uwsgi;
  scgi_temp_path ${dir}/${name}-scgi;
  # wrk and the sidecar keep their connections; nginx's default closes one after 1000 requests.
  keepalive_requests 10000000;
  keepalive_timeout 65s;
${http}
}
`;
}

/** nginx as the fake provider's plain-JSON origin: `return` a fixed answer to any request. */
export function originConfig(base: NginxBase, answer: string): string {
  if (/['$\\]/.test(answer)) throw new Error("the origin's answer must not hold ', $ or \\ (nginx would interpret them)");
  return common(
    base,
    `  server {
    listen 127.0.0.1:${base.port};
    location = /readyz {
      return 200 'ready';
    }
    location / {
      default_type application/json;
      return 200 '${answer}';
    }
  }`,
  );
}

/** nginx as a reverse proxy with upstream keep-alive: the floor of what a proxy costs. */
export function reverseProxyConfig(base: NginxBase, routes: readonly ProxyRoute[]): string {
  const upstreams = routes
    .map(
      (route, index) => `  upstream backend${index} {
    server 127.0.0.1:${route.upstreamPort};
    keepalive 64;
  }`,
    )
    .join('\n');
  const locations = routes
    .map(
      (route, index) => `    location ${route.prefix} {
      proxy_pass http://backend${index}/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
${route.streaming ? '      proxy_buffering off;\n' : ''}    }`,
    )
    .join('\n');
  return common(
    base,
    `${upstreams}
  server {
    listen 127.0.0.1:${base.port};
    location = /readyz {
      return 200 'ready';
    }
${locations}
  }`,
  );
}
