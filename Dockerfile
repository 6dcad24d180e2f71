# A small image with duro as one static (musl) binary, plus Python for table processors.
# Build: docker build -t duro .
# Run:   docker run -v $PWD:/srv/duro -e DURO_WAREHOUSE_URL=... -p 8080:8080 duro
FROM rust:1-alpine AS build
RUN apk add --no-cache build-base
WORKDIR /src
COPY . .
ENV RUSTFLAGS="-C target-feature=+crt-static"
RUN cargo build --release --locked && strip target/release/duro

FROM alpine:3
RUN apk add --no-cache ca-certificates python3 git \
    && adduser -S -h /srv/duro duro
COPY --from=build /src/target/release/duro /usr/local/bin/duro
USER duro
WORKDIR /srv/duro
EXPOSE 8080
# A non-loopback bind needs web.token (DURO_WEB_TOKEN).
ENTRYPOINT ["duro", "--log-format", "json"]
CMD ["up", "--bind", "0.0.0.0:8080"]
