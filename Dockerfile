# zkinfer's CLI (and so `zkinfer serve` / `zkinfer worker`) in a container, for compose.yaml.
# Build: docker build -t zkinfer .
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p zkinfer-cli --bin zkinfer

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/zkinfer /usr/local/bin/zkinfer
# A named volume mounted here takes this owner on first use.
RUN mkdir /data && chown 10001 /data
USER 10001
ENTRYPOINT ["zkinfer"]
