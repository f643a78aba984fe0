# bbm worker image. Built by `docker compose build` (see docker-compose.yml).
FROM node:20-bookworm-slim

WORKDIR /app

# Set before `npm ci` so libraries that look at it (and npm itself) take their
# production paths both while installing and at run time.
ENV NODE_ENV=production

# Manifests first: the dependency layer is then rebuilt only when they change,
# not on every source edit. npm 10 (shipped with node 20) ignores package.json's
# `allowScripts` field and runs install scripts as usual, which esbuild and the
# Temporal/swc native packages need. Do not add --omit=optional: esbuild (used by
# tsx at run time) ships its platform binary as an optional dependency.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

# One COPY per directory: `COPY a b ./` would merge their contents into /app.
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY bin ./bin
COPY tsconfig.json ./

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
