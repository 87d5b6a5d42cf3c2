# syntax=docker/dockerfile:1
# One image, both servers (and the load generator): the command picks which one runs.
#   docker build -t takeout-and-dine-in .
#   docker run -p 8080:8080 -v tdi-data:/data takeout-and-dine-in                  # web server (default)
#   docker run -p 7777:7777 -v tdi-data:/data takeout-and-dine-in npm run game      # game server
# The commands are the README's and CI's: `npm ci`, `npm run web`, `npm run game`, `npm run compare`.

# ---- builder: node:20-bookworm has python3, make and g++ for better-sqlite3's / koffi's native builds
FROM node:20-bookworm AS builder
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# Fail the build on a type error, as CI does; then drop the dev dependencies (tsx stays: it runs the servers).
RUN npx tsc --noEmit -p . && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: slim image, non-root, state in /data
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    WEB_HOST=0.0.0.0 WEB_PORT=8080 \
    GAME_HOST=0.0.0.0 GAME_PORT=7777 \
    ADMIN_HOST=127.0.0.1 ADMIN_PORT=9090 \
    DB_PATH=/data/game.sqlite \
    HEALTH_URL=http://127.0.0.1:8080/healthz
WORKDIR /app
COPY --from=builder --chown=node:node /app /app
RUN mkdir -p /data && chown node:node /data
# The image's built-in unprivileged user (uid 1000).
USER node
VOLUME ["/data"]
EXPOSE 8080 7777
# HEALTH_URL: the web server's /healthz, or the game server's admin port /healthz (set by compose).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.HEALTH_URL,{signal:AbortSignal.timeout(2500)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["npm", "run", "web"]
