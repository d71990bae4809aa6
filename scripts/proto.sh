#!/bin/sh
# proto.sh regenerates the backend plugin protocol's Go code in place
# (sdk/internal/backendv1) from sdk/internal/proto. Idempotent: running it
# on an unchanged .proto leaves the generated files byte-identical.
set -eu
cd "$(dirname "$0")/.."

if ! command -v protoc >/dev/null 2>&1; then
	apt-get update && apt-get install -y protobuf-compiler
fi

# module= strips the module path from go_package, so the files land in
# sdk/internal/backendv1 with no directory shuffling.
protoc -I sdk/internal/proto \
	--plugin=protoc-gen-go="$(go tool -n protoc-gen-go)" \
	--plugin=protoc-gen-go-grpc="$(go tool -n protoc-gen-go-grpc)" \
	--go_out=. --go_opt=module=github.com/molecule-ai/molecule-host \
	--go-grpc_out=. --go-grpc_opt=module=github.com/molecule-ai/molecule-host \
	backend/v1/backend.proto
