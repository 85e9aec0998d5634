package composetest

import (
	"fmt"
	"math/rand"
	"strings"
)

// Random returns a small compose file picked from many spellings of the
// keys berth's fast loader reads, valid or not, plus keys and syntax it
// leaves to compose-go, and an environment for it. Both loaders must agree
// on every such file.
func Random(rng *rand.Rand) (string, map[string]string) {
	var b strings.Builder
	pick := func(opts ...string) string { return opts[rng.Intn(len(opts))] }
	// One file in four may be odd: unsupported keys, invalid values.
	odd := rng.Intn(4) == 0
	if rng.Intn(8) == 0 {
		b.WriteString(snippet(rng, []string{"version: \"3.8\"\n", "version: '3'\n", "", "version: 3.8\n"}, odd))
	}
	base := rng.Intn(3) == 0
	if base {
		b.WriteString("x-base: &base\n  image: nginx:1.27\n  restart: always\n  labels:\n    tier: web\n")
		if rng.Intn(2) == 0 {
			b.WriteString("  environment:\n    A: \"1\"\n")
		}
	}
	b.WriteString("x-logging: &logging\n  driver: json-file\n  options:\n    max-size: 10m\n    max-file: \"3\"\n")
	if rng.Intn(6) == 0 {
		b.WriteString(snippet(rng, []string{"x-ext:\n  a: [1, 2.5, true, null, \"${X}\"]\n  b: {c: d}\n", "x-empty: {}\n", "x-s: ${X:-x}\n", "",
			"name: myproject\n", "include:\n  - other.yml\n", "foo: bar\n", "jobs: {}\n"}, odd))
	}
	b.WriteString("services:\n")
	n := 1 + rng.Intn(3)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  %s:\n", pick("web", "api", "db", "x-svc", "w.1", "Job_2")+fmt.Sprint(i))
		if base && rng.Intn(2) == 0 {
			b.WriteString("    <<: *base\n")
		}
		keys := rng.Perm(len(serviceSnippets))
		for _, j := range keys[:1+rng.Intn(8)] {
			b.WriteString(snippet(rng, serviceSnippets[j], odd))
		}
	}
	b.WriteString("networks:\n")
	b.WriteString(snippet(rng, []string{"  front:\n", "  front: {}\n", "  front:\n    driver: overlay\n    attachable: true\n",
		"  front:\n    external: true\n", "  front:\n    external: \"true\"\n", "  front:\n    name: custom\n    labels: [a=b]\n", "  front:\n    driver_opts:\n      encrypted: \"\"\n      mtu: 1400\n",
		"  front:\n    x-berth: {attachable: true}\n", "  front:\n    enable_ipv6: true\n", "  front:\n    external: ${X:-false}\n", "",
		"  front:\n    external:\n      name: real\n", "  front:\n    internal: yes\n", "  front:\n    ipam:\n      config:\n        - subnet: 10.0.0.0/24\n"}, odd))
	b.WriteString("  back:\n    driver: overlay\n    internal: true\n")
	if rng.Intn(4) == 0 {
		b.WriteString("  default:\n    driver: overlay\n")
	}
	b.WriteString("volumes:\n")
	b.WriteString(snippet(rng, []string{"  data:\n", "  data: {}\n", "  data:\n    external: true\n", "  data:\n    driver: local\n    driver_opts:\n      type: nfs\n",
		"  data:\n    name: real-data\n", "  data:\n    labels:\n      backup: \"yes\"\n", "  data:\n    external: false\n    name: x\n", "  data: null\n", "", "  data:\n    foo: bar\n"}, odd))
	b.WriteString("  other:\n")
	b.WriteString("secrets:\n")
	b.WriteString(snippet(rng, []string{"  s1:\n    file: ./s1.txt\n", "  s1:\n    external: true\n", "  s1:\n    file: ./s1\n    name: real\n", "  s1:\n    file: ./s1\n    labels: {a: b}\n", "",
		"  s1:\n    environment: SECRET\n", "  s1:\n"}, odd))
	b.WriteString("configs:\n")
	b.WriteString(snippet(rng, []string{"  c1:\n    file: ./c1.yml\n", "  c1:\n    content: |\n      hello ${X}\n", "  c1:\n    external: true\n", "", "  c1:\n    environment: X\n"}, odd))
	env := map[string]string{}
	for _, k := range []string{"X", "IMG", "TAG", "R", "PORT", "HTTP_PROXY", "SECRET", "EMPTY"} {
		switch rng.Intn(3) {
		case 0:
			env[k] = pick("value", "8080", "2", "nginx:1.27", "true", "a b")
		case 1:
			if k == "EMPTY" {
				env[k] = ""
			}
		}
	}
	return b.String(), env
}

// serviceSnippets are, per key, several spellings of a service attribute:
// first valid ones, then after a "" marker odd or invalid ones.
var serviceSnippets = [][]string{
	{"    image: nginx:1.27\n", "    image: ${IMG}\n", "    image: ${IMG:-nginx}:${TAG:-latest}\n", "    image: \"${IMG:-a}/${TAG}\"\n", "    image: $$IMG\n", "    image: ${IMG:-${TAG}}\n", "    image: '${IMG-x}:${TAG:+t}'\n", "",
		"    image: 123\n", "    image: ${IMG:?required}\n", "    image: ${}\n", "    image: !!str nginx\n"},
	{"    command: echo hello\n", "    command: [\"echo\", \"hello\"]\n", "    command: []\n", "    command: sh -c \"echo $${HOME}\"\n", "    command: 'a \"b c\" d'\n", "", "    command:\n", "    command: \"echo 'unterminated\"\n", "    command: [1, 2]\n"},
	{"    entrypoint: /entry.sh\n", "    entrypoint: [\"/entry.sh\", \"--flag\"]\n"},
	{"    environment:\n      A: \"1\"\n      B: 2\n      C: true\n      D:\n      HTTP_PROXY:\n",
		"    environment:\n      - A=1\n      - B\n      - C=\n      - HTTP_PROXY\n", "    environment:\n      X: ${X}\n      Y: ${X:-default}\n", "    environment: {}\n", "    environment: []\n",
		"    environment:\n      EMPTY:\n      SECRET:\n", "    environment:\n      - D==x\n      - E=${X}\n", "",
		"    environment:\n      - \"A =1\"\n", "    environment:\n      - A=1\n      - A=2\n", "    environment:\n      A: 1.5\n", "    environment:\n      x-a: b\n", "    environment:\n      - 5\n", "    environment:\n      DATE: 2024-01-01\n"},
	{"    labels:\n      a: b\n      c: 1\n      d: true\n      e:\n", "    labels: [a=b, c, \"d=e=f\"]\n", "    labels: {}\n", "    labels:\n      n: ~\n      q: \"${X}\"\n", "",
		"    labels: [a=b, a=c]\n", "    labels:\n      x-a: b\n", "    labels:\n      big: 99999999999999999999\n", "    labels:\n      oct: 0755\n", "    labels:\n      hex: 0x1F\n", "    labels:\n      f: 1e3\n", "    labels:\n      y: Yes\n"},
	{"    ports:\n      - \"80\"\n", "    ports:\n      - 80\n      - \"8080:80\"\n", "    ports:\n      - \"127.0.0.1:8080:80/udp\"\n", "    ports:\n      - \"8000-8001:80-81\"\n",
		"    ports:\n      - target: 80\n        published: 8080\n        mode: host\n", "    ports:\n      - target: \"80\"\n        published: \"8080\"\n", "    ports:\n      - \"${PORT:-80}:80\"\n",
		"    ports:\n      - target: 80\n        protocol: UDP\n        host_ip: 0.0.0.0\n", "    ports: []\n", "    ports:\n      - 8080:80\n", "",
		"    ports:\n      - abc\n", "    ports:\n      - \"80:80\"\n      - \"80:80\"\n", "    ports:\n      - \"80:80\"\n      - target: 80\n        published: \"80\"\n", "    ports:\n      - target: ${PORT}\n",
		"    ports:\n      - published: 80\n", "    ports:\n      - \"0.0.0.0:80:80\"\n      - \"80:80\"\n", "    ports:\n      - target: 80\n        x-foo: 1\n", "    ports:\n      - 80.5\n", "    ports:\n      - 70000\n"},
	{"    volumes:\n      - data:/data\n", "    volumes:\n      - ./x:/y:ro\n      - /var/run/docker.sock:/var/run/docker.sock\n", "    volumes:\n      - /anon\n", "    volumes:\n      - data:/data:nocopy\n",
		"    volumes:\n      - ./a:/b:z,rprivate\n", "    volumes:\n      - ~/x:/x/\n", "    volumes:\n      - .:/app\n", "    volumes:\n      - ${X:-data}:/data\n",
		"    volumes:\n      - type: bind\n        source: ./q\n        target: /q/\n        bind:\n          propagation: rshared\n", "    volumes:\n      - type: bind\n        source: ./q\n        target: /q\n        bind:\n          create_host_path: false\n",
		"    volumes:\n      - type: volume\n        source: data\n        target: /v\n        read_only: \"true\"\n        volume:\n          nocopy: true\n", "    volumes:\n      - type: tmpfs\n        target: /tmp\n        tmpfs:\n          size: 64m\n",
		"    volumes:\n      - type: bind\n        source: ./q\n        target: /q\n        bind: {}\n", "    volumes:\n      - type: volume\n        source: data\n        target: /v\n        volume: {}\n", "    volumes:\n      - type: bind\n        source: /etc\n        target: /etc\n", "",
		"    volumes:\n      - a:b:c:d\n", "    volumes:\n      - data:/data\n      - other:/data/\n", "    volumes:\n      - type: volume\n        source: data\n", "    volumes:\n      - type: npipe\n        source: x\n        target: /x\n", "    volumes:\n      - ab\n", "    volumes:\n      - C:\\\\x:/x\n"},
	{"    networks: [front]\n", "    networks:\n      front:\n", "    networks:\n      front:\n        aliases: [a, b]\n", "    networks:\n      front: {ipv4_address: 10.0.0.5}\n", "    networks: []\n", "    networks: {}\n",
		"    networks: [front, back]\n", "    networks:\n      default:\n", "    network_mode: host\n", "", "    networks: [front, front]\n", "    networks:\n      x-net:\n", "    network_mode: service:db\n", "    network_mode: host\n    networks: [front]\n"},
	{"    deploy:\n      replicas: 2\n", "    deploy:\n      replicas: \"2\"\n", "    deploy:\n      replicas: ${R:-2}\n", "    deploy:\n      mode: global\n",
		"    deploy:\n      labels:\n        traefik.enable: \"true\"\n        traefik.http.routers.a.rule: Host(`a`)\n", "    deploy:\n      labels: [a=b]\n",
		"    deploy:\n      resources:\n        limits:\n          cpus: \"0.5\"\n          memory: 256M\n          pids: 100\n        reservations:\n          cpus: 0.25\n          memory: 64M\n", "    deploy:\n      resources: {}\n",
		"    deploy:\n      update_config:\n        parallelism: 2\n        delay: 10s\n        order: start-first\n        failure_action: rollback\n        monitor: 1m\n        max_failure_ratio: 0.1\n",
		"    deploy:\n      rollback_config:\n        parallelism: 0\n        order: stop-first\n", "    deploy:\n      restart_policy:\n        condition: on-failure\n        delay: 5s\n        max_attempts: 3\n        window: 2m\n",
		"    deploy:\n      placement:\n        constraints: [node.role == manager, node.role != worker]\n        preferences:\n          - spread: node.labels.az\n        max_replicas_per_node: 1\n", "    deploy:\n      endpoint_mode: dnsrr\n",
		"    deploy:\n      resources:\n        limits:\n          cpus: 1\n", "    deploy:\n      update_config:\n        parallelism: \"1\"\n", "",
		"    deploy:\n      replicas: -1\n", "    deploy:\n      replicas: abc\n", "    deploy:\n      resources:\n        limits:\n          memory: 256\n", "    deploy:\n      resources:\n        limits: {cpus: abc}\n",
		"    deploy:\n      update_config:\n        delay: \"10\"\n", "    deploy:\n      update_config:\n        order: random\n", "    deploy:\n", "    deploy:\n      x-foo: 1\n"},
	{"    healthcheck:\n      test: [\"CMD\", \"curl\", \"-f\", \"http://localhost\"]\n      interval: 10s\n      timeout: 3s\n      retries: 3\n      start_period: 30s\n",
		"    healthcheck:\n      test: curl -f http://localhost || exit 1\n", "    healthcheck:\n      test: []\n", "    healthcheck:\n      disable: true\n", "    healthcheck:\n      disable: \"true\"\n",
		"    healthcheck:\n      retries: \"3\"\n", "    healthcheck:\n      start_interval: 1s\n      x-note: hi\n", "",
		"    healthcheck:\n      interval: 1d\n", "    healthcheck:\n      interval: 10\n", "    healthcheck:\n      retries: 1.5\n", "    healthcheck:\n      disable: yes\n"},
	{"    logging: *logging\n", "    logging:\n      driver: syslog\n      options:\n        tag: web\n        max-file: 3\n        opt:\n", "    logging: {}\n", "", "    logging:\n      options:\n        bool: true\n"},
	{"    read_only: true\n", "    read_only: \"true\"\n", "    read_only: \"TRUE\"\n", "    read_only: ${X:-false}\n", "    privileged: false\n", "    init: true\n", "    tty: \"false\"\n", "",
		"    read_only: yes\n", "    read_only: \"yes\"\n", "    stdin_open: 1\n"},
	{"    user: \"1000\"\n", "    user: ${X:-app}\n", "    working_dir: /app\n", "    hostname: web\n", "    container_name: web-1\n", "    stop_signal: SIGTERM\n", "    domainname: example.com\n", "", "    user: 1000\n", "    container_name: a\n"},
	{"    restart: always\n", "    restart: unless-stopped\n", "    stop_grace_period: 1m30s\n", "", "    stop_grace_period: 1d\n", "    stop_grace_period: 60\n"},
	{"    secrets: [s1]\n", "    secrets:\n      - source: s1\n        target: /x\n        uid: \"1000\"\n", "    configs: [c1]\n", "    configs:\n      - source: c1\n        target: /etc/c1\n", "",
		"    secrets:\n      - source: s1\n        mode: 0440\n", "    secrets: [s1, s1]\n", "    secrets:\n      - target: /x\n"},
	{"    depends_on: [db0]\n", "    depends_on:\n      db0:\n        condition: service_healthy\n", "    depends_on:\n      db0:\n        condition: service_started\n        restart: true\n        required: false\n", "",
		"    depends_on: {}\n", "    depends_on:\n      db0:\n        condition: bogus\n", "    depends_on:\n      db0: {}\n", "    depends_on:\n      db0:\n        condition: service_started\n        required: \"false\"\n", "    links: [db0]\n"},
	{"    ulimits:\n      nofile:\n        soft: 1024\n        hard: 2048\n      nproc: 512\n", "", "    ulimits:\n      nofile: \"1024\"\n", "    ulimits:\n      nofile:\n        soft: 1\n"},
	{"    x-berth:\n      stateful: true\n", "    x-note: hello ${X}\n", "    x-list: [1, 2.5, null, {a: b}]\n"},
	{"    build: ./app\n", "    build:\n      context: ./app\n      dockerfile: Dockerfile.prod\n      args:\n        VERSION: \"1.0\"\n        HTTP_PROXY:\n",
		"    build:\n      args: [A=1, HTTP_PROXY, NOPE]\n", "    build:\n      context: .\n      target: prod\n      labels: {a: b}\n", "    build: {}\n", "", "    build:\n      dockerfile_inline: FROM scratch\n"},
	{"    cap_add: [NET_ADMIN]\n", "    cap_drop: [ALL]\n", "    security_opt: [no-new-privileges:true]\n", "", "    cap_drop: [ALL, ALL]\n", "    security_opt: [\"a\", \"a\"]\n"},
	{"    expose: [80, \"81\"]\n", "    tmpfs: /run\n", "    tmpfs: [/run, /tmp]\n", "    dns_search: example.com\n", "    dns_opt: [use-vc]\n", "    group_add: [mail]\n", "", "    expose: [80, \"80\"]\n"},
	{"    sysctls:\n      net.core.somaxconn: 1024\n", "    sysctls: [net.core.somaxconn=1024]\n", "    extra_hosts:\n      - somehost:162.242.195.82\n", "    extra_hosts:\n      somehost: 162.242.195.82\n"},
	{"    pids_limit: 100\n", "    pids_limit: -1\n", "    pids_limit: \"100\"\n", "    mem_limit: 512m\n", "    mem_limit: 1073741824\n", "    shm_size: \"64m\"\n", "    cpus: 0.5\n", "    cpus: \"1.5\"\n", "    cpus: 2\n", "", "    memswap_limit: -1\n"},
	{"    pull_policy: always\n", "    pull_policy: if_not_present\n", "    profiles: [debug]\n", "    platform: linux/amd64\n", "    ipc: host\n", "    pid: host\n", "", "    pull_policy: daily\n", "    pid:\n"},
	{"", "    foo: bar\n", "    devices: [/dev/fuse]\n", "    env_file: .env\n", "    extends:\n      service: base\n", "    image: !reset null\n", "    scale: 2\n", "    annotations: {a: b}\n", "    develop: {}\n"},
}

// snippet picks a spelling: a valid one, or when odd any.
func snippet(rng *rand.Rand, opts []string, odd bool) string {
	valid := len(opts)
	for i, o := range opts {
		if o == "" {
			valid = i
			break
		}
	}
	if odd && rng.Intn(3) == 0 {
		var all []string
		for _, o := range opts {
			if o != "" {
				all = append(all, o)
			}
		}
		return all[rng.Intn(len(all))]
	}
	if valid == 0 {
		return ""
	}
	return opts[rng.Intn(valid)]
}
