# syntax=docker/dockerfile:1
# Build: docker build --build-arg VERSION=1.0.0 --build-arg COMMIT=$(git rev-parse --short HEAD) -t casemail .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/casemail ./cmd/casemail

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/casemail /usr/local/bin/casemail
# The store, and the config with the contacts file, live in volumes.
VOLUME ["/var/lib/casemail", "/etc/casemail"]
ENV CASEMAIL_CONFIG=/etc/casemail/casemail.toml
USER nonroot:nonroot
EXPOSE 8025
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/casemail", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/casemail"]
CMD ["run"]
