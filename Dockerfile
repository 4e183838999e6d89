# The club server in a container: `docker compose up -d` (compose.yaml)
# builds it and keeps the database in a volume. Build alone:
#   docker build -t clubhall/club-server .
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p club-server --bin club-server

FROM debian:bookworm-slim
RUN useradd --system --home-dir /var/lib/clubhall --create-home clubhall
COPY --from=build /src/target/release/club-server /usr/local/bin/club-server
USER clubhall
WORKDIR /var/lib/clubhall
VOLUME /var/lib/clubhall
ENV CLUB_LISTEN=0.0.0.0:8080 \
    CLUB_DATABASE=/var/lib/clubhall/clubhall.db \
    CLUB_LOG_FORMAT=json
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["club-server", "health"]
ENTRYPOINT ["club-server"]
