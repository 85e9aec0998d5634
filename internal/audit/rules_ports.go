package audit

import (
	"fmt"
	"regexp"

	"gopkg.in/yaml.v3"
)

var sensitivePorts = map[uint32]string{
	22: "SSH", 2375: "Docker API", 2376: "Docker API (TLS)", 2377: "Swarm management", 5432: "PostgreSQL", 3306: "MySQL/MariaDB",
	1433: "SQL Server", 1521: "Oracle", 6379: "Redis", 27017: "MongoDB", 9200: "Elasticsearch", 9300: "Elasticsearch transport",
	5984: "CouchDB", 11211: "memcached", 2379: "etcd", 8500: "Consul", 5672: "AMQP", 15672: "RabbitMQ admin",
	9090: "Prometheus", 9093: "Alertmanager", 3000: "Grafana", 8080: "admin/dashboard", 9000: "admin console",
	8086: "InfluxDB", 9042: "Cassandra", 7474: "Neo4j", 4222: "NATS", 9092: "Kafka", 2181: "ZooKeeper", 8200: "Vault",
}

// YAML 1.1 reads unquoted a:b with every part after the first in 0..59 as a
// base-60 integer (22:22 is 1342).
var base60Re = regexp.MustCompile(`^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+$`)

var portRules = []Rule{
	{
		ID: "ports.host-ip", Theme: "ports", Area: AreaNetworks, Severity: Off, DevSeverity: Warning,
		Title: "Port published on all interfaces",
		Why:   "A published port without a host IP listens on every interface, so a laptop's database is reachable from the café's Wi-Fi.",
		Fix:   "Publish on loopback: \"127.0.0.1:5432:5432\" (or host_ip: 127.0.0.1).",
		Service: func(c *Ctx, s *Svc) {
			for i, p := range s.Ports {
				if p.Published != "" && (p.HostIP == "" || p.HostIP == "0.0.0.0" || p.HostIP == "::") {
					c.At(s.Path("ports", itoa(i)), "service %s publishes port %s on all interfaces", s.Name, p.Published)
				}
			}
		},
	},
	{
		ID: "ports.published", Theme: "ports", Area: AreaNetworks, Severity: Warning,
		Title: "Non-edge service publishes a port",
		Why:   "In Swarm a published port opens on every node of the cluster, on every interface (host_ip is ignored): it bypasses the edge proxy's TLS, auth and logging.",
		Fix:   "Route the service through the edge proxy (Traefik labels) and remove ports:; reach admin ports with docker exec or an SSH tunnel.",
		Service: func(c *Ctx, s *Svc) {
			if s.Edge() {
				return
			}
			for i, p := range s.Ports {
				if p.Published != "" {
					if _, sensitive := sensitivePorts[p.Target]; sensitive {
						continue // ports.sensitive reports it
					}
					c.At(s.Path("ports", itoa(i)), "service %s publishes port %s on every swarm node", s.Name, p.Published)
				}
			}
		},
	},
	{
		ID: "ports.sensitive", Theme: "ports", Area: AreaNetworks, Severity: Error, DevSeverity: Warning,
		Title: "Database or admin port published",
		Why:   "Databases, caches, the Docker API and admin consoles published to the network are the first thing scanners find; many default to no auth.",
		Fix:   "Remove the published port; connect over the internal network, or publish on 127.0.0.1 for local development.",
		Service: func(c *Ctx, s *Svc) {
			for i, p := range s.Ports {
				what, ok := sensitivePorts[p.Target]
				if !ok || p.Published == "" || (!c.Swarm() && (p.HostIP == "127.0.0.1" || p.HostIP == "::1")) {
					continue
				}
				c.At(s.Path("ports", itoa(i)), "service %s publishes %s port %d", s.Name, what, p.Target)
			}
		},
	},
	{
		ID: "ports.edge-ingress", Theme: "ports", Area: AreaNetworks, Severity: Warning,
		Title: "Edge proxy published through the ingress mesh",
		Why:   "Through Swarm's ingress routing mesh the proxy sees the mesh's address, not the client's: access logs, rate limits and IP allow-lists all see one IP.",
		Fix:   "Publish 80/443 with the long syntax and mode: host, and run the proxy global (or pinned) on the edge nodes.",
		Service: func(c *Ctx, s *Svc) {
			if !s.Edge() {
				return
			}
			for i, p := range s.Ports {
				if p.Published != "" && (p.Target == 80 || p.Target == 443) && p.Mode != "host" {
					c.At(s.Path("ports", itoa(i)), "edge service %s publishes %d in ingress mode: client IPs are lost", s.Name, p.Target)
				}
			}
		},
	},
	{
		ID: "ports.base60", Theme: "ports", Area: AreaNetworks, Severity: Warning, Dev: true,
		Title: "Unquoted port mapping read as a base-60 number",
		Why:   "YAML 1.1 parsers (PyYAML, docker-compose v1, Ansible) read an unquoted 22:22 as the sexagesimal integer 1342: the same file maps different ports in different tools.",
		Fix:   "Quote port mappings: - \"22:22\".",
		Service: func(c *Ctx, s *Svc) {
			seq := s.Raw("ports")
			if seq == nil || seq.Kind != yaml.SequenceNode {
				return
			}
			for i, item := range seq.Content {
				if item.Kind == yaml.ScalarNode && item.Style == 0 && base60Re.MatchString(item.Value) {
					c.At(s.Path("ports", itoa(i)), "service %s: unquoted port mapping %s is a base-60 number (%s) in YAML 1.1", s.Name, item.Value, sexagesimal(item.Value))
				}
			}
		},
	},
}

func sexagesimal(v string) string {
	var n int64
	var cur int64
	for _, ch := range v {
		switch {
		case ch >= '0' && ch <= '9':
			cur = cur*10 + int64(ch-'0')
		case ch == ':':
			n = n*60 + cur
			cur = 0
		}
	}
	return fmt.Sprint(n*60 + cur)
}
