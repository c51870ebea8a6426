# ferrometa: one small image. Build: docker build -t ferrometa .
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p ferrometa && strip target/release/ferrometa

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/ferrometa --create-home ferrometa
COPY --from=build /src/target/release/ferrometa /usr/local/bin/ferrometa
USER ferrometa
ENV FERROMETA_DATA_DIR=/var/lib/ferrometa FERROMETA_LOG_FORMAT=json
VOLUME /var/lib/ferrometa
EXPOSE 8585 8586
ENTRYPOINT ["ferrometa"]
CMD ["serve"]
