# The sidecar as a small static image: build with the Go toolchain, run on a
# distroless base as a non-root user. `fly deploy` builds this file.
# sidecar/cmd/symphony's deploy test runs the `go build` line below verbatim and
# checks the binary is static, so keep the build on that one RUN line.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY sql/ sql/
COPY sidecar/ sidecar/
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/symphonymessenger/symphony/sidecar/app.Version=${VERSION}" -o /out/symphony ./sidecar/cmd/symphony

# No shell, no package manager: the binary and CA certificates (for the providers' HTTPS).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/symphony /symphony
USER nonroot:nonroot
# 8080: /healthz, /readyz, /metrics, /status (private). 8081: the dashboard, only
# when SYMPHONY_DASHBOARD_TOKEN is set.
EXPOSE 8080 8081
ENTRYPOINT ["/symphony"]
CMD ["worker"]
