"""Render the monitoring stack from a bundle: the stack file and every config it mounts.

Each config is a Swarm config named by its content hash, so `docker stack deploy` replaces a
config, and rolls the one service that mounts it, only when its content changed. The rendered
directory is self-contained (the bundle's files are copied in): it is what `slo stack deploy`
deploys and what a user reviews or deploys by hand.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import jinja2
import yaml

from slo import __version__

_KEY = re.compile(r"[^a-z0-9]+")
_NAME_MAX = 64  # Docker's limit for config names


@dataclass(frozen=True)
class Images:
    """Official image names; local builds (no registry) are tagged with the same names."""

    prometheus: str = "prom/prometheus:v3.16.0"
    alertmanager: str = "prom/alertmanager:v0.35.0"
    grafana: str = "grafana/grafana:12.2.1"
    socket_proxy: str = "haproxy:2.6"
    node_exporter: str = "prom/node-exporter:v1.9.1"
    # Jaeger v2.13.0 is Go module v1.76.0 and embeds Collector v0.140: the versions
    # stack/build-images builds where nothing can be pulled.
    jaeger: str = "jaegertracing/jaeger:2.13.0"
    otel_collector: str = "otel/opentelemetry-collector-contrib:0.140.1"
    # The log store and its shipper (stack/build-images: OpenSearch from its Maven artifacts,
    # Filebeat OSS from its Go module). 7.12.1 is the last Filebeat that ships to OpenSearch.
    opensearch: str = "opensearchproject/opensearch:2.19.6"
    filebeat: str = "docker.elastic.co/beats/filebeat-oss:7.12.1"
    # The demo shop's edge (render_demo; stack/build-images: from its Go module).
    traefik: str = "traefik:v3.7.13"
    # Ours, built by stack/build-image (tagged by a hash of its sources); no public registry yet.
    exporter: str = f"swarm-slo/exporter:{__version__}"
    demo: str = f"swarm-slo/demo:{__version__}"  # the demo shop (stack/demo/build-image)

    def replace(self, overrides: dict[str, str]) -> Images:
        unknown = sorted(set(overrides) - set(self.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown image key {', '.join(unknown)}; known: {', '.join(self.__dataclass_fields__)}")
        return dataclasses.replace(self, **overrides)


@dataclass(frozen=True)
class Ports:
    """Published in host mode (Swarm's routing mesh needs IPVS, which some kernels lack)."""

    prometheus: int = 9090
    alertmanager: int = 9093
    grafana: int = 3000
    jaeger: int = 16686
    opensearch: int = 9200  # the log store's API: search the logs by trace id
    webhook: int = 9099  # the rehearsal sink (--rehearse)


@dataclass(frozen=True)
class StackConfig:
    name: str = "monitoring"
    network: str = "monitoring"
    retention_time: str = "15d"
    retention_size: str = "10GB"
    scrape_interval: str = "15s"
    # The bundle's rate window (slo build --rate-window, default 1m) must equal this.
    evaluation_interval: str = "1m"
    # The HA pair, one replica per manager node. On a single node it is one replica: a second
    # beside it adds no availability, and both could not publish the same host-mode port.
    alertmanager_replicas: int = 2
    single_node: bool = True
    # The read-only proxy's unix socket, in a node-local volume shared with its clients.
    docker_api_socket: str = "/run/docker-api/docker.sock"
    # The engine's json-file logs, which Filebeat reads (the engine's data-root + /containers).
    docker_containers_dir: str = "/var/lib/docker/containers"
    log_index: str = "logs"  # daily indices logs-YYYY.MM.DD
    # Log files not written for this long are not shipped (a first start skips the old logs of
    # quiet and stopped containers, which would delay the present on a busy engine).
    log_max_age: str = "1h"
    opensearch_heap: str = "512m"
    images: Images = field(default_factory=Images)
    ports: Ports = field(default_factory=Ports)
    # Services left out of the stack file (e.g. grafana where its image cannot be had).
    omit: frozenset[str] = frozenset()
    # Rehearsal: every receiver of the on-call file becomes a webhook to the stack's own
    # `webhook` sink (stack/webhook_sink.py), so the routing is exercised and nobody is paged.
    rehearse: bool = False


@dataclass(frozen=True)
class Config:
    service: str
    key: str  # the key in the stack file
    name: str  # the Swarm config's name: key and content hash
    file: str  # relative to the stack file
    target: str  # path inside the container
    content: str


@dataclass
class RenderedStack:
    stack_file: str
    configs: list[Config]

    def files(self, stack_name: str = "stack.yml") -> dict[str, str]:
        out = {stack_name: self.stack_file}
        out.update((c.file, c.content) for c in self.configs)
        return out

    def write(self, path: Path) -> list[Path]:
        written = []
        for rel, text in self.files(path.name).items():
            target = path.parent / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            written.append(target)
        return written


class BundleMissing(Exception):
    pass


def _env() -> jinja2.Environment:
    loader = jinja2.FunctionLoader(lambda name: resources.files("stack").joinpath("templates", name).read_text())
    return jinja2.Environment(loader=loader, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def _config(service: str, rel: str, target: str, content: str, stack_name: str) -> Config:
    key = _KEY.sub("-", f"{service}-{rel}".lower()).strip("-")
    digest = hashlib.sha256(content.encode()).hexdigest()[:12]
    name = f"{stack_name}-{key}"[: _NAME_MAX - 13] + "-" + digest
    return Config(service, key, name, f"configs/{service}/{rel}", target, content)


def _bundle_files(bundle: Path, under: str, suffix: str) -> Iterator[tuple[str, str]]:
    base = bundle / under
    for root, _, names in sorted(os.walk(base)):
        for n in sorted(names):
            if n.endswith(suffix):
                full = Path(root) / n
                yield full.relative_to(base).as_posix(), full.read_text(encoding="utf-8")


SERVICES = (
    "prometheus",
    "alertmanager",
    "grafana",
    "socket-proxy",
    "exporter",
    "node-exporter",
    "jaeger",
    "otel-collector",
    "opensearch",
    "filebeat",
)


REHEARSAL_URL = "http://webhook:9099"


def rehearsal_config(alertmanager_yml: str, url: str) -> str:
    """The same routing tree, inhibitions and timings; each receiver's integrations replaced by
    one webhook to `url/<receiver name>` (so the sink knows who would have been notified)."""
    config = yaml.safe_load(alertmanager_yml)
    # Integrations' global secrets (SMTP password, ...) are not used by a webhook: no secrets needed.
    config["global"] = {k: v for k, v in (config.get("global") or {}).items() if not k.endswith("_file")}
    for receiver in config.get("receivers") or []:
        name = receiver["name"]
        for key in [k for k in receiver if k.endswith("_configs")]:
            del receiver[key]
        receiver["webhook_configs"] = [{"url": f"{url}/{name}", "send_resolved": True, "max_alerts": 0}]
    header = "# Rehearsal (slo stack --rehearse): every receiver is a webhook to the stack's sink.\n"
    return header + yaml.safe_dump(config, sort_keys=False, default_flow_style=False)


_SECRETS_DIR = "/run/secrets/"


def secret_files(alertmanager_yml: str) -> list[str]:
    """The Docker secrets an Alertmanager configuration reads (`*_file: /run/secrets/NAME`)."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if str(key).endswith("_file") and isinstance(value, str) and value.startswith(_SECRETS_DIR):
                    found.add(value.removeprefix(_SECRETS_DIR))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load(alertmanager_yml))
    return sorted(found)


def render(bundle_dir: str | Path, config: StackConfig | None = None) -> RenderedStack:
    config = config or StackConfig()
    unknown = sorted(config.omit - set(SERVICES))
    if unknown:
        raise ValueError(f"cannot omit {', '.join(unknown)}: the stack's services are {', '.join(SERVICES)}")
    bundle = Path(bundle_dir)
    if not (bundle / "manifest.json").is_file():
        raise BundleMissing(f"{bundle}: not a bundle (no manifest.json); run `slo build` first")
    env = _env()
    common = {"version": __version__, "name": config.name}
    configs: list[Config] = []

    rules = list(_bundle_files(bundle, "prometheus/rules", ".yml"))
    rule_targets = [f"/etc/prometheus/rules/{rel}" for rel, _ in rules]
    prometheus_yml = env.get_template("prometheus.yml.j2").render(
        **common,
        scrape_interval=config.scrape_interval,
        evaluation_interval=config.evaluation_interval,
        rule_paths=rule_targets,
        docker_host=f"unix://{config.docker_api_socket}",
        network=f"{config.name}_{config.network}",
    )
    configs.append(
        _config("prometheus", "prometheus.yml", "/etc/prometheus/prometheus.yml", prometheus_yml, config.name)
    )
    for (rel, text), target in zip(rules, rule_targets, strict=True):
        configs.append(_config("prometheus", f"rules/{rel}", target, text, config.name))

    routing = bundle / "alertmanager" / "alertmanager.yml"
    am = routing.read_text() if routing.is_file() else env.get_template("alertmanager-default.yml.j2").render(**common)
    if config.rehearse:
        am = rehearsal_config(am, REHEARSAL_URL)
    am_secrets = secret_files(am)
    configs.append(_config("alertmanager", "alertmanager.yml", "/etc/alertmanager/alertmanager.yml", am, config.name))

    for rel, text in _bundle_files(bundle, "grafana/provisioning", ".yml"):
        configs.append(_config("grafana", f"provisioning/{rel}", f"/etc/grafana/provisioning/{rel}", text, config.name))
    for rel, text in _bundle_files(bundle, "grafana/dashboards", ".json"):
        configs.append(_config("grafana", f"dashboards/{rel}", f"/etc/grafana/dashboards/{rel}", text, config.name))

    haproxy = resources.files("stack").joinpath("docker-socket-proxy", "haproxy.cfg").read_text()
    configs.append(_config("socket-proxy", "haproxy.cfg", "/usr/local/etc/haproxy/haproxy.cfg", haproxy, config.name))
    jaeger = env.get_template("jaeger.yaml.j2").render(**common, max_traces=50_000)
    configs.append(_config("jaeger", "config.yaml", "/etc/jaeger/config.yaml", jaeger, config.name))
    otel = env.get_template("otel-collector.yaml.j2").render(**common)
    configs.append(_config("otel-collector", "config.yaml", "/etc/otelcol-contrib/config.yaml", otel, config.name))
    opensearch_yml = env.get_template("opensearch.yml.j2").render(**common)
    configs.append(
        _config(
            "opensearch", "opensearch.yml", "/usr/share/opensearch/config/opensearch.yml", opensearch_yml, config.name
        )
    )
    configs.append(
        _config(
            "filebeat",
            "filebeat.yml",
            "/usr/share/filebeat/filebeat.yml",
            filebeat_config(
                opensearch_url="http://opensearch:9200",
                docker_host=None if "socket-proxy" in config.omit else f"unix://{config.docker_api_socket}",
                own_service=f"{config.name}_filebeat",
                containers_dir=config.docker_containers_dir,
                index_prefix=config.log_index,
                ignore_older=config.log_max_age,
            ),
            config.name,
        )
    )

    stack_file = env.get_template("stack.yml.j2").render(
        **common,
        network=config.network,
        configs=configs,
        images=config.images,
        ports=config.ports,
        retention_time=config.retention_time,
        retention_size=config.retention_size,
        alertmanager_replicas=1 if config.single_node else config.alertmanager_replicas,
        single_node=config.single_node,
        omit=config.omit,
        rehearse=config.rehearse,
        alertmanager_secrets=am_secrets,
        docker_api_socket=config.docker_api_socket,
        docker_api_dir=os.path.dirname(config.docker_api_socket),
        docker_containers_dir=config.docker_containers_dir,
        opensearch_heap=config.opensearch_heap,
    )
    return RenderedStack(stack_file, configs)


def filebeat_config(
    opensearch_url: str,
    docker_host: str | None,
    own_service: str | None = None,
    containers_dir: str = "/var/lib/docker/containers",
    containers: str = "*",
    index_prefix: str = "logs",
    replicas: int = 0,
    refresh_interval: str = "1s",
    scan_frequency: str = "1s",
    ignore_older: str = "1h",
) -> str:
    """Filebeat's configuration: the engine's json-file logs, JSON decoded, into OpenSearch (the
    stack's, or a test's own: `containers` narrows the glob of container ids)."""
    return (
        _env()
        .get_template("filebeat.yml.j2")
        .render(
            version=__version__,
            opensearch_url=opensearch_url,
            docker_host=docker_host,
            own_service=own_service,
            containers_dir=containers_dir,
            containers=containers,
            index_prefix=index_prefix,
            replicas=replicas,
            refresh_interval=refresh_interval,
            scan_frequency=scan_frequency,
            ignore_older=ignore_older,
        )
    )


DEMO_STACK = "shop"  # the example SLOs' `stack`


def render_demo(image: str, config: StackConfig | None = None, web_port: int = 8080, load_rate: float = 5) -> str:
    """The demo shop's stack file (stack/demo/): deployed as the stack `shop` on the monitoring
    stack's network, so Prometheus scrapes it and its traces reach the Collector. Traefik is its
    edge: it publishes `web_port` for the web, routes the web's calls to the api, and finds both
    through the monitoring stack's read-only Docker API proxy (its node-local socket volume)."""
    config = config or StackConfig()
    if "socket-proxy" in config.omit:
        raise ValueError(
            "the demo's Traefik finds its routes through the monitoring stack's socket-proxy: "
            "do not omit socket-proxy with --demo"
        )
    return (
        _env()
        .get_template("demo.yml.j2")
        .render(
            version=__version__,
            stack=DEMO_STACK,
            monitoring=config.name,
            network=config.network,
            image=image,
            traefik_image=config.images.traefik,
            web_port=web_port,
            web_replicas=1 if config.single_node else 2,
            load_rate=load_rate,
            docker_api_volume=f"{config.name}_docker-api",
            docker_api_socket=config.docker_api_socket,
            docker_api_dir=os.path.dirname(config.docker_api_socket),
        )
    )
