# duro and Python (for table processors) on Debian.
# Build: docker build -t duro .            (podman build -t duro . works the same)
# Run:   docker run -v $PWD:/srv/duro -e DURO_WAREHOUSE_URL=... -e DURO_WEB_TOKEN=... -p 8080:8080 duro
#
# Both images can be replaced, e.g. by images made without a registry (scripts/container-test.sh
# makes a Debian base with debootstrap): --build-arg BUILDER=… --build-arg BASE=…. A build context
# holding a binary at prebuilt/duro skips the compilation (about an hour on two cores).
ARG BUILDER=docker.io/library/rust:1-bookworm
ARG BASE=docker.io/library/debian:bookworm-slim

FROM ${BUILDER} AS build
WORKDIR /src
COPY . .
RUN if [ -x prebuilt/duro ]; then install -D prebuilt/duro target/release/duro; \
    else cargo build --release --locked; fi

FROM ${BASE}
RUN if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then \
        apt-get update && apt-get install -y --no-install-recommends ca-certificates python3 python3-venv git \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
    && useradd --system --home-dir /srv/duro --create-home --shell /usr/sbin/nologin duro
COPY --from=build /src/target/release/duro /usr/local/bin/duro
USER duro
WORKDIR /srv/duro
EXPOSE 8080
# A non-loopback bind needs web.token (DURO_WEB_TOKEN).
ENTRYPOINT ["duro", "--log-format", "json"]
CMD ["up", "--bind", "0.0.0.0:8080"]
