# bbm worker image. Built by `docker compose build` (see docker-compose.yml).
# Two stages: the first compiles TypeScript to dist/ with the dev dependencies (tsc); the second
# holds only the compiled JavaScript and the runtime dependencies, as the npm package does.
FROM node:20-bookworm-slim AS build

WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
RUN node scripts/build.js

FROM node:20-bookworm-slim

WORKDIR /app

# Set before `npm ci` so libraries that look at it (and npm itself) take their
# production paths both while installing and at run time.
ENV NODE_ENV=production
# Worker memory (README "Worker memory"): a smaller V8 young generation and old-generation limit for
# the main thread, and two malloc arenas instead of one per thread for Temporal Core's threads.
ENV NODE_OPTIONS="--max-old-space-size=256 --max-semi-space-size=4" MALLOC_ARENA_MAX=2

# Manifests first: the dependency layer is then rebuilt only when they change,
# not on every source edit. npm 10 (shipped with node 20) ignores package.json's
# `allowScripts` field and runs install scripts as usual, which the Temporal/swc
# native packages need. Do not add --omit=optional: @swc/core (which bundles the
# workflows at worker start) ships its platform binary as an optional dependency.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

# Compiled code only: with no src/ next to it, bin/bbm.js runs dist/ (no tsx at run time).
COPY --from=build /app/dist ./dist
COPY bin ./bin

# The code stays root-owned (the worker cannot rewrite itself); only bbm's data
# directory is writable by the runtime user.
RUN mkdir -p /app/.data && chown node:node /app/.data

# Least privilege: a compromised dependency in the worker should not get root
# inside the container. `node` (uid 1000) comes with the base image.
USER node

# Prometheus metrics (BBM_METRICS_PORT).
EXPOSE 9464

# exec form: node is PID 1 and receives SIGTERM directly, which the worker
# handles by finishing in-flight jobs before exiting.
CMD ["node", "bin/bbm.js", "worker"]
