# The filtering gateway image. Build from the repository root:
#   docker build -t linkgate .
# Run with a config file mounted, or the config inline in $LINKGATE_CONFIG:
#   docker run -v $PWD/gateway.yaml:/etc/linkgate/config.yaml:ro -p 8443:8443 -p 8080:8080 linkgate
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
ARG TYPESCRIPT_VERSION=5.9.3
ARG NODE_TYPES_VERSION=20
# The compiler lives apart from the app so the app's node_modules holds runtime dependencies only
# (the construct libraries in devDependencies are large and the gateway never loads them).
RUN npm install --prefix /tools --no-audit --no-fund --ignore-scripts \
      typescript@${TYPESCRIPT_VERSION} @types/node@${NODE_TYPES_VERSION}
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=peer --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.image.json ./
COPY lib/index.ts ./lib/index.ts
COPY lib/tenants ./lib/tenants
COPY lib/gateway ./lib/gateway
RUN /tools/node_modules/.bin/tsc -p tsconfig.image.json --typeRoots /tools/node_modules/@types

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    LINKGATE_CONFIG_FILE=/etc/linkgate/config.yaml \
    LINKGATE_HEALTH_PORT=8080
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# The node image's unprivileged user; the gateway needs no privilege (ports are above 1024).
USER node
EXPOSE 8443 9443 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "dist/lib/gateway/cli.js", "health"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/lib/gateway/cli.js"]
CMD ["serve"]
