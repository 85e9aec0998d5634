// Package composetest generates compose files and Dockerfiles for tests
// and benchmarks: realistic stacks for the audit corpus, and randomised
// ones that wander into the odd corners of the Compose format to compare
// berth's fast loader with compose-go's.
package composetest

import (
	"fmt"
	"math/rand"
	"strings"
)

// Stack returns a realistic stack file of n services, the way teams write
// them: shared anchors (logging, deploy defaults merged with <<), images
// with variable tags, environment as a map or a list, Traefik labels,
// healthchecks, ports in short and long syntax, named and bind volumes,
// secrets and configs, networks and dependencies. Services vary from a
// few lines (a worker) to forty (a public API).
func Stack(rng *rand.Rand, n int) string {
	var b strings.Builder
	b.WriteString(`x-logging: &logging
  driver: json-file
  options:
    max-size: 10m
    max-file: "3"

x-deploy: &deploy
  restart_policy:
    condition: on-failure
    max_attempts: 3
  update_config:
    parallelism: 1
    order: start-first
    failure_action: rollback
    monitor: 30s
  rollback_config:
    parallelism: 1
    order: stop-first

x-env: &common-env
  TZ: Europe/Paris
  LOG_FORMAT: json
  OTEL_EXPORTER_OTLP_ENDPOINT: http://otel-collector:4317

services:
`)
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s-%d", serviceNames[rng.Intn(len(serviceNames))], i)
		switch rng.Intn(4) {
		case 0:
			writeWorker(&b, rng, name, i)
		case 1:
			writeDatabase(&b, rng, name, i)
		default:
			writeWeb(&b, rng, name, i)
		}
	}
	b.WriteString(`networks:
  public:
    driver: overlay
    attachable: true
  backend:
    driver: overlay
    internal: true
    driver_opts:
      encrypted: "true"
volumes:
`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  data-%d:\n", i)
		if i%5 == 0 {
			b.WriteString("    driver: local\n    labels:\n      backup: daily\n")
		}
	}
	b.WriteString(`secrets:
  db-password:
    file: ./secrets/db-password.txt
  api-token:
    external: true
configs:
  app-config:
    file: ./config/app.yml
`)
	return b.String()
}

var serviceNames = []string{"api", "web", "worker", "auth", "billing", "search", "gateway", "mailer", "cache", "queue", "reports", "media"}

func writeWeb(b *strings.Builder, rng *rand.Rand, name string, i int) {
	fmt.Fprintf(b, "  %s:\n", name)
	fmt.Fprintf(b, "    image: ${REGISTRY:-registry.example.com}/shop/%s:${TAG_%d:-1.%d.%d}\n", name, i%7, rng.Intn(20), rng.Intn(10))
	if rng.Intn(6) == 0 {
		// Built from the stack's own Dockerfile (BuildContext).
		b.WriteString("    build:\n      context: ./app\n      args:\n        GO_VERSION: \"1.23\"\n")
	}
	if rng.Intn(3) == 0 {
		fmt.Fprintf(b, "    command: [\"/app/%s\", \"serve\", \"--port\", \"8080\"]\n", name)
	}
	b.WriteString("    user: \"10001:10001\"\n")
	fmt.Fprintf(b, "    read_only: %v\n", rng.Intn(4) != 0)
	b.WriteString("    cap_drop: [ALL]\n")
	b.WriteString("    security_opt:\n      - no-new-privileges:true\n")
	if rng.Intn(2) == 0 {
		b.WriteString("    environment:\n      <<: *common-env\n")
		fmt.Fprintf(b, "      SERVICE_NAME: %s\n      DB_HOST: db-%d\n      CACHE_URL: redis://cache:6379/%d\n", name, i%3, i%16)
		if rng.Intn(3) == 0 {
			fmt.Fprintf(b, "      STRIPE_KEY: sk_live_%016x\n", rng.Int63())
		}
		fmt.Fprintf(b, "      WORKERS: %d\n      DEBUG: \"false\"\n", 1+rng.Intn(8))
	} else {
		fmt.Fprintf(b, "    environment:\n      - SERVICE_NAME=%s\n      - DB_HOST=db-%d\n      - DB_PASSWORD_FILE=/run/secrets/db-password\n      - HTTP_PROXY\n", name, i%3)
	}
	b.WriteString("    secrets:\n      - db-password\n")
	if rng.Intn(3) == 0 {
		b.WriteString("      - source: api-token\n        target: /run/secrets/token\n        uid: \"10001\"\n")
	}
	b.WriteString("    configs:\n      - source: app-config\n        target: /etc/app/config.yml\n")
	b.WriteString("    healthcheck:\n")
	if rng.Intn(2) == 0 {
		b.WriteString("      test: [\"CMD\", \"/app/healthcheck\"]\n")
	} else {
		b.WriteString("      test: wget -qO- http://localhost:8080/healthz || exit 1\n")
	}
	fmt.Fprintf(b, "      interval: %ds\n      timeout: 5s\n      retries: 3\n      start_period: 20s\n", 10+5*rng.Intn(4))
	b.WriteString("    logging: *logging\n")
	switch rng.Intn(3) {
	case 0:
		fmt.Fprintf(b, "    ports:\n      - \"%d:8080\"\n", 8000+i)
	case 1:
		fmt.Fprintf(b, "    ports:\n      - target: 8080\n        published: %d\n        protocol: tcp\n        mode: host\n", 9000+i)
	}
	fmt.Fprintf(b, "    volumes:\n      - data-%d:/var/lib/%s\n", i, name)
	if rng.Intn(4) == 0 {
		b.WriteString("      - type: bind\n        source: /etc/ssl/certs\n        target: /etc/ssl/certs\n        read_only: true\n")
	}
	if rng.Intn(6) == 0 {
		b.WriteString("      - /var/run/docker.sock:/var/run/docker.sock:ro\n")
	}
	b.WriteString("    networks:\n      - public\n      - backend\n")
	if rng.Intn(2) == 0 {
		fmt.Fprintf(b, "    depends_on:\n      - db-%d\n", i%3)
	}
	b.WriteString("    deploy:\n      <<: *deploy\n")
	fmt.Fprintf(b, "      replicas: %d\n", 1+rng.Intn(4))
	b.WriteString("      labels:\n        traefik.enable: \"true\"\n")
	fmt.Fprintf(b, "        traefik.http.routers.%s.rule: Host(`%s.example.com`)\n", name, name)
	fmt.Fprintf(b, "        traefik.http.routers.%s.entrypoints: websecure\n", name)
	fmt.Fprintf(b, "        traefik.http.routers.%s.tls.certresolver: le\n", name)
	fmt.Fprintf(b, "        traefik.http.services.%s.loadbalancer.server.port: \"8080\"\n", name)
	b.WriteString("      resources:\n")
	fmt.Fprintf(b, "        limits: {cpus: \"%d.5\", memory: %dM}\n", rng.Intn(2), 128*(1+rng.Intn(8)))
	b.WriteString("        reservations:\n          cpus: \"0.25\"\n          memory: 64M\n")
	if rng.Intn(3) == 0 {
		b.WriteString("      placement:\n        constraints:\n          - node.role == worker\n        preferences:\n          - spread: node.labels.zone\n")
	}
	b.WriteString("\n")
}

func writeWorker(b *strings.Builder, rng *rand.Rand, name string, i int) {
	fmt.Fprintf(b, "  %s:\n", name)
	fmt.Fprintf(b, "    image: registry.example.com/shop/%s:1.%d.%d\n", name, rng.Intn(20), rng.Intn(10))
	fmt.Fprintf(b, "    command: /app/%s --queue jobs-%d --concurrency %d\n", name, i, 1+rng.Intn(16))
	b.WriteString("    environment:\n      <<: *common-env\n")
	fmt.Fprintf(b, "      QUEUE: jobs-%d\n", i)
	b.WriteString("    logging: *logging\n")
	b.WriteString("    networks: [backend]\n")
	fmt.Fprintf(b, "    deploy:\n      replicas: %d\n", 1+rng.Intn(6))
	b.WriteString("      resources:\n        limits:\n          memory: 256M\n")
	b.WriteString("\n")
}

func writeDatabase(b *strings.Builder, rng *rand.Rand, name string, i int) {
	images := []string{"postgres:16.4", "redis:7.4-alpine", "mariadb:11.4", "rabbitmq:3.13-management"}
	fmt.Fprintf(b, "  %s:\n", name)
	fmt.Fprintf(b, "    image: %s\n", images[rng.Intn(len(images))])
	b.WriteString("    environment:\n      POSTGRES_PASSWORD_FILE: /run/secrets/db-password\n      PGDATA: /var/lib/postgresql/data/pgdata\n")
	b.WriteString("    secrets: [db-password]\n")
	fmt.Fprintf(b, "    volumes:\n      - type: volume\n        source: data-%d\n        target: /var/lib/postgresql/data\n", i)
	b.WriteString("    healthcheck:\n      test: [\"CMD-SHELL\", \"pg_isready -U postgres\"]\n      interval: 10s\n      timeout: 3s\n      retries: 5\n")
	b.WriteString("    logging: *logging\n")
	b.WriteString("    networks:\n      backend:\n        aliases: [db]\n")
	b.WriteString("    stop_grace_period: 1m\n")
	b.WriteString("    deploy:\n      replicas: 1\n      placement:\n        constraints: [node.labels.db == true]\n      resources:\n        limits:\n          memory: 1G\n")
	if rng.Intn(2) == 0 {
		b.WriteString("        reservations:\n          memory: 512M\n")
	}
	b.WriteString("\n")
}

// BuildContext is the build context of the services Stack builds from
// source, relative to the stack file; write a Dockerfile there.
const BuildContext = "app"

// Dockerfile returns a realistic multi-stage Dockerfile.
func Dockerfile(rng *rand.Rand) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# syntax=docker/dockerfile:1\nARG GO_VERSION=1.%d\nFROM golang:${GO_VERSION} AS build\nWORKDIR /src\n", 20+rng.Intn(6))
	b.WriteString("COPY go.mod go.sum ./\nRUN --mount=type=cache,target=/go/pkg/mod go mod download\nCOPY . .\n")
	b.WriteString("RUN --mount=type=cache,target=/root/.cache/go-build \\\n    CGO_ENABLED=0 go build -trimpath -ldflags=\"-s -w\" -o /out/app ./cmd/app\n")
	if rng.Intn(2) == 0 {
		b.WriteString("FROM alpine:3.20\nRUN apk add --no-cache ca-certificates tzdata \\\n && addgroup -S app && adduser -S -G app app\nCOPY --from=build /out/app /usr/local/bin/app\nUSER app\n")
	} else {
		b.WriteString("FROM gcr.io/distroless/static-debian12:nonroot\nCOPY --from=build /out/app /app\nUSER 65532:65532\n")
	}
	b.WriteString("EXPOSE 8080\nHEALTHCHECK --interval=30s --timeout=3s CMD [\"/app\", \"healthcheck\"]\nENTRYPOINT [\"/app\"]\n")
	return b.String()
}
