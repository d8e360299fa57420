# syntax=docker/dockerfile:1
# The genai-sidecar image: the sidecar (`run`, the default), `inject` and `webhook`.
#   docker build -t ghcr.io/genai-sidecar/genai-sidecar:0.1.0 .
#   docker run --rm ghcr.io/genai-sidecar/genai-sidecar:0.1.0 --help

# Build: install everything, compile TypeScript, then drop the dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json \
 && npm prune --omit=dev --no-audit --no-fund

# Runtime: Node.js and nothing else (no shell, no package manager), as the distroless `nonroot`
# user (uid 65532), which the injected sidecar's securityContext expects.
FROM gcr.io/distroless/nodejs20-debian12:nonroot AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER 65532:65532
# The proxy and admin defaults; the sidecar binds to loopback unless told otherwise.
EXPOSE 8787 8788
# Distroless puts node at /nodejs/bin/node and not on PATH. The script is package.json's
# `bin.genai-sidecar`, so `docker run IMAGE <command> ...` is `genai-sidecar <command> ...`.
# Node flags: src/cli/runtimeFlags.ts (a smaller young generation, an old generation collected
# before it grows far: lower peak memory).
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=2", "--heap-growing-percent=15", "--liftoff-only", "dist/src/cli/main.js"]
CMD ["run"]
