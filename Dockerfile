# One image for every role: `docker run IMAGE coordinator|miner|validator …`.
# Build: docker build --build-arg RESI_GIT_REVISION=$(git rev-parse --short=12 HEAD) -t resi .
# (see deploy/README.md)

# --- build: the toolchain resi is pinned to ---
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
# No .git in the build context: the revision comes in as an argument.
ARG RESI_GIT_REVISION="unknown revision"
ENV RESI_GIT_REVISION=${RESI_GIT_REVISION} \
    CARGO_TARGET_DIR=/src/target
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p resi \
 && install -m 0755 /src/target/release/resi /usr/local/bin/resi

# --- run: a small Debian with CA certificates and an unprivileged user ---
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 resi \
 && useradd --system --uid 10001 --gid resi --home-dir /var/lib/resi --create-home --shell /usr/sbin/nologin resi
COPY --from=build /usr/local/bin/resi /usr/local/bin/resi
USER resi:resi
WORKDIR /var/lib/resi
VOLUME ["/var/lib/resi"]
# Logs for shippers; metrics reachable from outside the container.
ENV RESI_LOG_FORMAT=json \
    RESI_LISTEN=0.0.0.0:8080 \
    RESI_METRICS_LISTEN=0.0.0.0:9184
# Coordinator API and dashboard; miner/validator metrics.
EXPOSE 8080 9184
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/resi"]
CMD ["--help"]
