# syntax=docker/dockerfile:1
# hh-sync (`hh-sync watch` in a cluster: see deploy/). Multi-stage: the TypeScript is compiled in `build`; the
# runtime stage holds the compiled output and production dependencies only, and runs as a non-root user.
# Build: docker build -t hh-sync:0.1.0 .

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are copied.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json mikro-orm.config.ts ./
COPY src ./src
COPY bench ./bench
RUN npm run build

FROM node:20-bookworm-slim AS runtime
# git: the desired state is read from the fabric's Git repository (bare clones under the working directory).
RUN apt-get update \
  && apt-get install -y --no-install-recommends git ca-certificates \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only, from the lockfile; then the MikroORM peer dependencies (a host application brings
# its own; the image is the host here), pinned to the versions the lockfile tests with.
RUN npm ci --omit=dev --ignore-scripts \
  && npm install --no-save --omit=dev --ignore-scripts \
     @mikro-orm/core@6.6.16 @mikro-orm/postgresql@6.6.16 @mikro-orm/migrations@6.6.16 \
  && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY bin ./bin
# The image's `node` user (uid 1000); the Deployment also sets runAsNonRoot / runAsUser 1000.
USER 1000:1000
WORKDIR /data
EXPOSE 9464
ENTRYPOINT ["node", "/app/bin/hh-sync.js"]
CMD ["--help"]
