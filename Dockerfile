# ferrometa: one small non-root image.  Build: docker build -t ferrometa .
# Dependencies are compiled in their own cached layer (cargo-chef): a change to ferrometa's
# sources rebuilds only the workspace crates, not the ~400 crates they depend on.
FROM rust:1.95-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release -p ferrometa --recipe-path recipe.json
COPY . .
RUN cargo build --release -p ferrometa && strip target/release/ferrometa

FROM debian:bookworm-slim
# ca-certificates tracks Debian's security updates: pinning it would freeze stale roots.
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 ferrometa \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/ferrometa --create-home --shell /usr/sbin/nologin ferrometa \
    && install -d -o root -g ferrometa -m 0750 /etc/ferrometa /etc/ferrometa/jwtkeys
COPY --from=build /src/target/release/ferrometa /usr/local/bin/ferrometa
# Numeric user, so Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
ENV FERROMETA_DATA_DIR=/var/lib/ferrometa FERROMETA_LOG_FORMAT=json
# Mount the guide's JWT key pair (private_key.der, public_key.der) read-only at /etc/ferrometa/jwtkeys.
VOLUME ["/var/lib/ferrometa"]
EXPOSE 8585 8586
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 CMD ["ferrometa", "healthcheck"]
ENTRYPOINT ["ferrometa"]
CMD ["serve"]
