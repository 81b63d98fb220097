# Builds hero-api, hero-worker and hero into one small image.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin hero-api --bin hero-worker --bin hero

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git bubblewrap \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/hero-api /src/target/release/hero-worker /src/target/release/hero /usr/local/bin/
ENV HERO_BIND=0.0.0.0:8080 HERO_WORKER_BIND=0.0.0.0:8081 HERO_DATA_DIR=/var/lib/hero
CMD ["hero-api"]
