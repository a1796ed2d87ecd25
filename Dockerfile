# The filtering gateway image. Build from the repository root, or from an installed package
# (node_modules/linkgate, as FilteringGateway's image asset does):
#   docker build -t linkgate .
# Run with a config file mounted, or the config inline in $LINKGATE_CONFIG:
#   docker run -v $PWD/gateway.yaml:/etc/linkgate/config.yaml:ro -p 8443:8443 -p 8080:8080 linkgate
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# npm never packs package-lock.json; image.lock.json (npm run image-lock) travels in the package
# instead. It locks a manifest of the runtime dependencies plus the compiler, kept in its root
# entry: written out as package.json, it lets npm ci install exactly the locked versions, and
# keeps the construct libraries (devDependencies of linkgate itself) out of the image.
COPY image.lock.json ./package-lock.json
RUN node -e "const fs = require('fs'); const root = JSON.parse(fs.readFileSync('package-lock.json', 'utf8')).packages['']; fs.writeFileSync('package.json', JSON.stringify(root, null, 2))"
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.image.json ./
COPY lib/index.ts ./lib/index.ts
COPY lib/tenants ./lib/tenants
COPY lib/gateway ./lib/gateway
RUN node_modules/.bin/tsc -p tsconfig.image.json
# The runtime stage takes node_modules as is: only the runtime dependencies stay.
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    LINKGATE_CONFIG_FILE=/etc/linkgate/config.yaml \
    LINKGATE_HEALTH_PORT=8080
WORKDIR /app
COPY package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# With --config-url and several workers, the primary keeps the last good document here for its
# workers. Owned by the gateway's user: ECS on Fargate copies a VOLUME path's owner and mode into
# the bind mount it puts there, so a read-only root filesystem still leaves this writable.
# (A path relative to WORKDIR /app, and the node user's uid: the tests run these steps without Docker.)
RUN mkdir -p ../var/cache/linkgate && chown 1000:1000 ../var/cache/linkgate
VOLUME ["/var/cache/linkgate"]
ENV LINKGATE_CONFIG_CACHE_DIR=/var/cache/linkgate
# The node image's unprivileged user; the gateway needs no privilege (ports are above 1024).
USER node
EXPOSE 8443 9443 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "dist/lib/gateway/cli.js", "health"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/lib/gateway/cli.js"]
CMD ["serve"]
