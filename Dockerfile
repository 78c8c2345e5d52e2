# The sidecar as a small static image: build with the Go toolchain, run on a
# distroless base as a non-root user. `fly deploy` builds this file.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY sql/ sql/
COPY sidecar/ sidecar/
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/symphonymessenger/symphony/sidecar/app.Version=${VERSION}" \
      -o /out/symphony ./sidecar/cmd/symphony

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/symphony /symphony
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/symphony"]
CMD ["worker"]
