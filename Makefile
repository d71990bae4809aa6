# Molecule Host. `make run` and `make test` are the two commands the README
# gives; both set up everything they need on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

BIN      := $(CURDIR)/bin
PLUGINS  := $(BIN)/plugins
GO       ?= go
GOFLAGS  ?=
export CGO_ENABLED := 0

CMDS     := molecule-host molecule-agent molecule-cp-local molecule-conformance
BACKENDS := fake docker cp

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-zA-Z_-]*:.*## / {printf "  \033[1m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: deps
deps: ## Install what the build and tests need from Debian (PostgreSQL server binaries) when missing.
	@scripts/deps.sh

.PHONY: build
build: ## Build every binary into bin/ and write the plugin lock file.
	@mkdir -p $(PLUGINS)
	$(GO) build $(GOFLAGS) -o $(BIN)/ $(addprefix ./cmd/,$(CMDS))
	$(GO) build $(GOFLAGS) -o $(PLUGINS)/ $(addprefix ./cmd/molecule-backend-,$(BACKENDS))
	@$(BIN)/molecule-host plugins lock --dir $(PLUGINS) >/dev/null

.PHONY: image
image: ## Build the workspace image molecule-workspace:dev (scratch + static agent).
	@scripts/image.sh

.PHONY: run
run: deps build image ## Run the host with embedded Postgres, the Docker, CP and fake backends and a local control plane.
	@scripts/run.sh

.PHONY: test
test: deps build image ## Run every test against a throwaway Postgres, real plugins and the real Docker engine.
	$(GO) test $(GOFLAGS) -count=1 -p 2 -timeout 20m ./...

.PHONY: check
check: ## What CI adds: vet, staticcheck, gofmt, tidy, generated code and matrix in sync, import rules.
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	@GO=$(GO) scripts/vulncheck.sh
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	@cp go.mod /tmp/go.mod.check && cp go.sum /tmp/go.sum.check && $(GO) mod tidy && \
	  if ! diff -q go.mod /tmp/go.mod.check >/dev/null || ! diff -q go.sum /tmp/go.sum.check >/dev/null; then \
	    echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; fi
	@scripts/proto.sh && git diff --exit-code -- sdk/internal || { echo "generated proto code is stale: run make proto"; exit 1; }
	$(GO) test -count=1 -run 'TestImportRules' ./
	@$(MAKE) --no-print-directory matrix-check

.PHONY: proto
proto: ## Regenerate the gRPC code from sdk/internal/proto.
	@scripts/proto.sh

.PHONY: matrix
matrix: build image ## Run conformance on every shipped backend and rewrite docs/backends.md.
	@scripts/matrix.sh write

.PHONY: matrix-check
matrix-check: build image ## Run conformance on every shipped backend; fail if a declared capability fails or docs/backends.md is stale.
	@scripts/matrix.sh check

.PHONY: bench
bench: build image ## Run the benchmarks; each target is reported as a ratio to a baseline measured in the same run.
	$(GO) test -run '^$$' -bench . -skip DockerCreateToOnline -benchtime 2s -count 1 ./bench/...
	$(GO) test -run '^$$' -bench DockerCreateToOnline -benchtime 5x -count 1 ./bench/...

.PHONY: clean
clean: ## Remove build output.
	rm -rf $(BIN) conformance-results
