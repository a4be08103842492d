# syntax=docker/dockerfile:1
# wasessd and wasess in a small runtime image:
#   docker build -t wasess .
#   docker run -v wasess-data:/var/lib/wasess wasess            # the daemon (whatsapp backend)
#   docker exec -it <container> wasess connect --user alice@example.com
# packaging/compose/docker-compose.yml runs three nodes on PostgreSQL 16.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=trixie

FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS build
WORKDIR /src
COPY . .
# The registry and target caches speed up rebuilds; the binaries leave the cache by copy.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bins \
    && install -m 0755 target/release/wasess target/release/wasessd /usr/local/bin/

FROM debian:${DEBIAN_RELEASE}-slim
# ca-certificates: WhatsApp's servers are reached over TLS. Versions float with the
# release's security updates, hence no pins.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 wasess \
    && useradd --system --uid 10001 --gid wasess --home-dir /var/lib/wasess \
       --no-create-home --shell /usr/sbin/nologin wasess \
    && install -d -m 0750 -o wasess -g wasess /var/lib/wasess /run/wasess
COPY --from=build /usr/local/bin/wasess /usr/local/bin/wasessd /usr/local/bin/
ENV WASESS_DATA_DIR=/var/lib/wasess \
    WASESS_SOCKET=/run/wasess/wasessd.sock
# The numeric ids of the user made above, so any host resolves them the same.
USER 10001:10001
# The data dir holds the SQLite registry when no WASESS_DATABASE_URL is given; the socket
# directory can be shared with the application's container.
VOLUME ["/var/lib/wasess", "/run/wasess"]
EXPOSE 9464
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["wasess", "ping"]
ENTRYPOINT ["wasessd"]
CMD ["--metrics", "0.0.0.0:9464"]
