# Two stages: the server is built to JavaScript (`npm run build`, dist/), and the image runs that.
# Running the TypeScript directly (type stripping) works too, but keeps Node's type-stripping
# WebAssembly in memory: 16 MiB more RSS at rest and 24-34 MiB more under sustained ingest.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
# As CI installs: with the dev dependencies (tsc) and their install scripts (the pinned Node 24).
RUN npm ci --no-audit --no-fund
COPY gen ./gen
COPY src ./src
# The dashboard (ui/build.ts, esbuild) is built into dist/ui beside the server.
COPY ui ./ui
RUN npm run build

FROM node:24-slim
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
# glibc: every allocation of 128 KB or more (request bodies, batch parameters) in its own mapping,
# returned to the system when freed, as `npm start` does.
ENV CHAUKAS_HOST=0.0.0.0 \
    CHAUKAS_PORT=50051 \
    CHAUKAS_DATA_DIR=/data \
    MALLOC_MMAP_THRESHOLD_=131072
VOLUME /data
EXPOSE 50051
STOPSIGNAL SIGTERM
# The same V8 flags as `npm start`: a young generation sized for the server, not for the host, and
# an old generation that grows to twice its live size before the next full collection.
CMD ["node", "--max-semi-space-size=16", "--heap-growing-percent=100", "dist/src/main.js"]
