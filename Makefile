# berth: the targets people and CI call.
GO        ?= go
BIN       := bin/berth
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/berth-platform/berth/internal/cli.Version=$(VERSION)

.PHONY: build up down status test unit e2e bench lint fmt host-setup

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/berth

host-setup:
	./scripts/host-setup.sh

# Bring the platform up on this machine (builds images locally when no
# registry answers; the first run takes a while).
up: host-setup build
	./$(BIN) up

down: build
	./$(BIN) down

status: build
	./$(BIN) status

# Everything: unit tests of berth and of the demo services, then the
# end-to-end tests on a live single-node swarm.
test: host-setup unit e2e

# The demo services' Postgres tests run against a throwaway local server.
unit:
	$(GO) test -count=1 ./...
	dsn=$$(./scripts/test-postgres.sh start) && \
	  (cd services && PG_TEST_DSN="$$dsn" $(GO) test -count=1 ./...); \
	  rc=$$?; ./scripts/test-postgres.sh stop; exit $$rc

e2e:
	$(GO) test -count=1 -tags e2e -timeout 60m -v ./e2e

# Rolling updates under load, berth's configuration and the naive one side
# by side (needs the platform up: make up).
bench: build
	./$(BIN) bench rollout --baseline

# golangci-lint v2 (config in .golangci.yml); installed into GOPATH/bin
# from the Go module proxy when missing.
GOLANGCI_LINT ?= $(shell $(GO) env GOPATH)/bin/golangci-lint

lint:
	$(GO) vet ./... && cd services && $(GO) vet ./...
	@test -z "$$(gofmt -l cmd internal e2e services)" || (gofmt -l cmd internal e2e services; exit 1)
	@test -x $(GOLANGCI_LINT) || $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
	$(GOLANGCI_LINT) run ./... && $(GOLANGCI_LINT) run --build-tags e2e ./e2e/...
	cd services && $(GOLANGCI_LINT) run --config ../.golangci.yml ./...

fmt:
	gofmt -w cmd internal e2e services
