# syntax=docker/dockerfile:1

# ---- build: h3-go needs cgo, so build on Debian with gcc, for Debian.
FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=1
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags "-s -w" -o /out/groupbuy ./cmd/groupbuy

# ---- runtime: same Debian release as the build stage (glibc).
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates tzdata fonts-dejavu-core fonts-arphic-gbsn00lp \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 groupbuy \
    && useradd --system --uid 10001 --gid groupbuy --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin groupbuy
COPY --from=build /out/groupbuy /usr/local/bin/groupbuy
USER 10001:10001
# Listen on all interfaces inside the container (the binary's default is 127.0.0.1:8080).
ENV GROUPBUY_ADDR=:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/groupbuy"]
CMD ["serve"]
