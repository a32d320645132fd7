# The ice binary: worker and CLI in one image (the embedded dev stack is left out).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# -tags production leaves out `ice dev`, `ice demo` and the simulators they run
# (internal/importrules checks the production build links none of them).
RUN CGO_ENABLED=1 go build -tags production -o /out/ice ./cmd/ice

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ice /usr/local/bin/ice
# The warehouse worker's volume is mounted here: a named volume takes the ownership of
# the image's directory, so the worker (uid 10001) can create its DuckDB file. Without
# it Docker makes the mount point root's, and the worker could not open the warehouse.
RUN mkdir /warehouse && chown 10001:10001 /warehouse
USER 10001
ENTRYPOINT ["ice"]
