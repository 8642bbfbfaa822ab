# syntax=docker/dockerfile:1
# Build: docker build --build-arg VERSION=$(git describe --always) -t bytebot .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=none
# validator_novalidatefn drops the validator's one MethodByName call, which
# would otherwise keep every method of every type in the binary (26 MB
# instead of 16 MB).
RUN CGO_ENABLED=0 go build -trimpath -tags validator_novalidatefn \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/bytebot .

# distroless/static has CA certificates (for Slack, Bytemark and rediss://)
# and tzdata, and runs as an unprivileged user.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bytebot /bytebot
USER nonroot:nonroot
EXPOSE 8080
# METRICS_ADDR: /metrics, for Prometheus (not to be published)
EXPOSE 9091
ENTRYPOINT ["/bytebot"]
CMD ["serve"]
