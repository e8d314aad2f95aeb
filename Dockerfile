# Two stages: the server is built to JavaScript (`npm run build`, dist/), and the image runs that.
# Running the TypeScript directly (type stripping) works too, but keeps Node's type-stripping
# WebAssembly in memory: 16 MiB more RSS at rest and 24-34 MiB more under sustained ingest.
# Node exactly as package.json pins it (devDependencies.node); test/ops/docker.test.ts checks they agree.
FROM node:24.21.0-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
# As CI installs: with the dev dependencies (tsc) and their install scripts (the pinned Node 24).
RUN npm ci --no-audit --no-fund
COPY gen ./gen
COPY src ./src
# The dashboard (ui/build.ts, esbuild) is built into dist/ui beside the server, and the embedded
# store's initialised data directory (scripts/pglite-template.ts) into dist/src/store/sql.
COPY ui ./ui
COPY scripts ./scripts
RUN npm run build

FROM node:24.21.0-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY --from=build /app/dist ./dist
# The CLI (`npx chaukas ...`: keys, import, export, verify) runs its TypeScript directly.
COPY gen ./gen
COPY proto ./proto
COPY src ./src
RUN mkdir /data && chown node:node /data
USER node
# glibc: allocations under 2 MiB (request bodies, batch parameters) reuse freed heap memory, those of
# 2 MiB or more get a mapping of their own, returned to the system when freed, as `npm start` does
# (docs/adr/0044-glibc-mapping-threshold-2-mib.md).
ENV CHAUKAS_HOST=0.0.0.0 \
    CHAUKAS_PORT=50051 \
    CHAUKAS_DATA_DIR=/data \
    MALLOC_MMAP_THRESHOLD_=2097152
VOLUME /data
EXPOSE 50051
STOPSIGNAL SIGTERM
# Ready: the database answers and holds every migration, and the server is not draining
# (docs/operations.md). Node's fetch, as the slim image has no curl; plain HTTP, so not with TLS.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.CHAUKAS_PORT||50051)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The same V8 flags as `npm start`: a young generation sized for the server, not for the host, an
# old generation that grows to twice its live size before the next full collection, whose marking
# starts once 15% of that room is used (docs/adr/0028-fewer-full-collections-per-answer.md), and the
# embedded store's WebAssembly left to the baseline compiler (docs/adr/0022-embedded-memory.md).
CMD ["node", "--max-semi-space-size=16", "--heap-growing-percent=100", "--incremental-marking-soft-trigger=15", "--incremental-marking-hard-trigger=50", "--liftoff-only", "dist/src/main.js"]
