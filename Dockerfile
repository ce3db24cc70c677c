# avatar-import as a container, for the Kubernetes example in deploy/kubernetes/ (or any scheduler).
#   docker build -t avatar-import:0.1.0 .
#   docker run --rm -v "$PWD:/work" -w /work avatar-import:0.1.0 people.csv --out avatars/

# Build stage: the full dev install, because `npm ci` runs `prepare`, which is the tsc build.
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm ci --no-audit --no-fund

# Runtime stage: production dependencies and the compiled dist/ only. `prepare` is dropped from
# this copy of package.json because it would run tsc, which --omit=dev does not install.
FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm pkg delete scripts.prepare \
 && npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force \
 && ln -s /app/dist/cli/bin.js /usr/local/bin/avatar-import
COPY --from=build /app/dist ./dist
# The node image's unprivileged user (uid 1000): the import never needs root.
USER node
ENTRYPOINT ["avatar-import"]
