# Herald image: compile in a builder with the native toolchain, ship only dist/ and production dependencies.
#   docker build -t herald .        (docker-compose.yml builds it for the `herald-worker` and `herald-api` services)
# The command picks the role: `herald start` (default: everything in one process), `herald worker` or `herald api`,
#   docker run … herald node dist/src/cli/herald.js worker

# ---- builder ------------------------------------------------------------------------------------------
FROM node:20.20-bookworm-slim AS builder

# better-sqlite3 falls back to node-gyp when no prebuilt binary can be fetched; node-gyp needs these.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, so source edits reuse this layer. package.json's `allowScripts` lists the packages
# whose install scripts may run (npm 11 blocks dependency install scripts by default; better-sqlite3 needs its).
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY . .
# tsc → dist/, then the prebuilt Temporal workflow bundle.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime ------------------------------------------------------------------------------------------
FROM node:20.20-bookworm-slim AS runtime

ENV NODE_ENV=production
WORKDIR /app

# Owned by root and read-only for the service user; only .herald/ (local data) is writable.
COPY --from=builder /app/package.json ./package.json
COPY --from=builder /app/node_modules ./node_modules
COPY --from=builder /app/dist ./dist
RUN mkdir -p /app/.herald && chown node:node /app/.herald

# The official node image's unprivileged user (uid 1000).
USER node

EXPOSE 3000

HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=5 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HERALD_API_PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# The herald CLI (package.json `bin`); `start` is what `npm start` (dist/src/main.js) runs. Compose overrides the
# role per service. The HEALTHCHECK above probes the API, so a `worker` container must replace or disable it.
CMD ["node", "dist/src/cli/herald.js", "start"]
