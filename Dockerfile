# syntax=docker/dockerfile:1
# gater in a container. Three stages: `build` compiles the TypeScript to dist/, `deps` installs the production
# dependencies alone, and the final image holds dist/, bin/, config/ and those dependencies, running as the
# unprivileged `node` user. bin/gater.js runs dist/ there (the image has no src/).
#
#   docker build -t gater:local .
#   docker compose up -d          (a five-node cluster: see docker-compose.yaml)

ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the `node` devDependency pins Node for development and would download a second runtime; the
# image has its own. Its bin shim would shadow that runtime inside npm scripts, so the compiler is run by path.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# No production dependency has an install script (only the `node` devDependency does, and it is omitted).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    GATER_DATA_DIR=/data \
    GATER_HTTP_PORT=4001
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY config ./config
RUN mkdir -p /data && chown node:node /data
USER node
# HTTP API, gossip (UDP), mesh (the conventional fixed port; set GATER_MESH_PORT=45893, as docker-compose.yaml does).
EXPOSE 4001/tcp 45892/udp 45893/tcp
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.GATER_HTTP_PORT||4001)+'/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "bin/gater.js"]
CMD ["start"]
