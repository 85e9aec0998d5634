"""`slo stack render`: the stack file and its configs, checked by the tools that will read them
(the docker CLI's compose parser, promtool, HAProxy)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml
from conftest import EXAMPLES

from slo.cli import main
from stack.render import DEMO_STACK, SERVICES, StackConfig, render, render_demo


class Run(NamedTuple):
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def slo(args: list[str]) -> Run:
    """`slo ARGS` in this process: main()'s exit code and what it printed (module-scoped
    fixtures cannot use capsys)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return Run(code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "build"
    result = slo(["build", str(EXAMPLES), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def rendered(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    stack_file = tmp_path_factory.mktemp("stack") / "stack.yml"
    result = slo(["stack", "render", "--bundle", str(bundle), "--out", str(stack_file), "--output", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["configs"] == 19  # ..., swarm.yml, the OpenSearch and Filebeat configs
    return stack_file


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if not found:
        pytest.fail(f"{name} not found; `make setup` installs it (.ci/install-tools)")
    return found


def test_the_docker_cli_accepts_the_stack_file(rendered: Path) -> None:
    proc = subprocess.run(
        [_tool("docker"), "stack", "config", "-c", rendered.name],
        cwd=rendered.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    merged = yaml.safe_load(proc.stdout)
    assert set(merged["services"]) == set(SERVICES)
    for name, service in merged["services"].items():
        assert service["deploy"]["resources"]["limits"], f"{name} has no resource limits"
        assert service["logging"]["options"]["max-size"] == "10m", f"{name} has no log rotation"
        for port in service.get("ports", []):
            assert port["mode"] == "host", f"{name} publishes through the routing mesh"
    # One node (the default): one Alertmanager; a second could not publish the same host port.
    assert merged["services"]["alertmanager"]["deploy"]["replicas"] == 1
    # Only the socket proxy mounts the engine's socket, read-only.
    mounts = {
        n: [v["source"] for v in s.get("volumes", []) if v["type"] == "bind"] for n, s in merged["services"].items()
    }
    assert [n for n, m in mounts.items() if "/var/run/docker.sock" in m] == ["socket-proxy"]


def test_the_log_pipeline_services(rendered: Path) -> None:
    """OpenSearch: bounded heap inside its memory limit, a health check, its data in a volume;
    Filebeat: one per node, the engine's log files read-only, metadata through the proxy."""
    stack = yaml.safe_load(rendered.read_text())
    opensearch, filebeat = stack["services"]["opensearch"], stack["services"]["filebeat"]
    assert opensearch["environment"]["OPENSEARCH_JAVA_OPTS"] == "-Xms512m -Xmx512m"
    assert opensearch["deploy"]["resources"]["limits"]["memory"] == "1G"
    assert "_cluster/health" in " ".join(opensearch["healthcheck"]["test"])
    assert "opensearch-data:/usr/share/opensearch/data" in opensearch["volumes"]
    assert filebeat["deploy"]["mode"] == "global"
    assert "/var/lib/docker/containers:/var/lib/docker/containers:ro" in filebeat["volumes"]
    config = yaml.safe_load((rendered.parent / "configs" / "filebeat" / "filebeat.yml").read_text())
    assert config["output.elasticsearch"]["hosts"] == ["http://opensearch:9200"]
    assert config["setup.ilm.enabled"] is False
    processors = [next(iter(p)) for p in config["processors"]]
    assert processors == ["add_docker_metadata", "decode_json_fields", "copy_fields", "drop_event"]
    assert config["processors"][0]["add_docker_metadata"]["host"] == "unix:///run/docker-api/docker.sock"
    # Started only once the proxy answers (add_docker_metadata never retries a failed start).
    shell, flag, script, name = filebeat["entrypoint"]
    assert (shell, flag, name, filebeat["command"]) == ("/bin/sh", "-c", "filebeat", ["-e"])
    assert "--unix-socket /run/docker-api/docker.sock http://docker/_ping" in script
    assert 'exec /usr/share/filebeat/filebeat "$$@"' in script and "exit 1" in script
    opensearch_yml = yaml.safe_load((rendered.parent / "configs" / "opensearch" / "opensearch.yml").read_text())
    assert opensearch_yml["discovery.type"] == "single-node"
    assert opensearch_yml["compatibility.override_main_response_version"] is True


def test_without_the_socket_proxy_filebeat_adds_no_docker_metadata(bundle: Path) -> None:
    rendered = render(bundle, StackConfig(omit=frozenset({"socket-proxy"})))
    stack = yaml.safe_load(rendered.stack_file)
    assert not [v for v in stack["services"]["filebeat"]["volumes"] if v.startswith("docker-api:")]
    assert "entrypoint" not in stack["services"]["filebeat"]  # nothing to wait for
    (filebeat_yml,) = [c.content for c in rendered.configs if c.service == "filebeat"]
    assert "add_docker_metadata" not in filebeat_yml


def test_several_nodes_get_the_alertmanager_pair_one_per_node(bundle: Path) -> None:
    text = render(bundle, StackConfig(single_node=False)).stack_file
    am = yaml.safe_load(text)["services"]["alertmanager"]["deploy"]
    assert (am["replicas"], am["placement"]["max_replicas_per_node"]) == (2, 1)


def test_omit_leaves_out_a_service_its_configs_and_secret(bundle: Path, tmp_path: Path) -> None:
    stack_file = tmp_path / "stack.yml"
    result = slo(
        [
            "stack",
            "render",
            "--bundle",
            str(bundle),
            "--out",
            str(stack_file),
            "--omit",
            "grafana",
            "--image",
            "exporter=swarm-slo/exporter:test",
        ],
    )
    assert result.exit_code == 0, result.output
    proc = subprocess.run(
        [_tool("docker"), "stack", "config", "-c", stack_file.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    merged = yaml.safe_load(proc.stdout)
    assert set(merged["services"]) == set(SERVICES) - {"grafana"}
    assert "secrets" not in merged
    assert not [c for c in merged["configs"] if c.startswith("grafana")]
    assert merged["services"]["exporter"]["image"] == "swarm-slo/exporter:test"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--omit", "grafanna"], "cannot omit grafanna: the stack's services are prometheus, alertmanager, grafana"),
        (["--image", "exporter"], "'exporter': expected KEY=IMAGE"),
        (["--image", "exportr=x:1"], "unknown image key exportr; known: prometheus"),
    ],
)
def test_bad_stack_options_are_clear_errors(bundle: Path, tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "stack.yml"
    result = slo(["stack", "render", "--bundle", str(bundle), "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert not out.exists()


def test_promtool_accepts_prometheus_config_and_rules(rendered: Path, promtool: Path, tmp_path: Path) -> None:
    configs = rendered.parent / "configs" / "prometheus"
    text = (configs / "prometheus.yml").read_text()
    assert "/etc/prometheus/rules/shop/api.yml" in text
    # Inside the container the rules are at /etc/prometheus/rules; here, beside the config.
    local = tmp_path / "prometheus.yml"
    local.write_text(text.replace("/etc/prometheus/rules/", f"{configs}/rules/"))
    proc = subprocess.run(
        [promtool, "check", "config", "--lint-fatal", local], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 4 rule files found" in proc.stdout  # a file per service and swarm.yml


def test_haproxy_accepts_the_socket_proxy_config(rendered: Path, tmp_path: Path) -> None:
    cfg = rendered.parent / "configs" / "socket-proxy" / "haproxy.cfg"
    # As the stack sets them: a unix socket in a volume (here a temporary directory).
    env = {**os.environ, "PROXY_BIND": str(tmp_path / "docker.sock"), "DOCKER_SOCKET": "/var/run/docker.sock"}
    proc = subprocess.run([_tool("haproxy"), "-c", "-f", cfg], capture_output=True, text=True, check=False, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_rendering_is_deterministic_and_a_changed_rule_renames_only_its_config(bundle: Path, tmp_path: Path) -> None:
    first = render(bundle)
    assert render(bundle).files() == first.files()
    copy = tmp_path / "build"
    shutil.copytree(bundle, copy)
    api = copy / "prometheus" / "rules" / "shop" / "api.yml"
    api.write_text(api.read_text() + "# changed\n")
    before = {c.key: c.name for c in first.configs}
    after = {c.key: c.name for c in render(copy).configs}
    changed = sorted(k for k in before if before[k] != after[k])
    assert changed == ["prometheus-rules-shop-api-yml"]  # prometheus.yml names paths, not contents


def test_render_without_a_bundle_is_a_clear_error(tmp_path: Path) -> None:
    result = slo(["stack", "render", "--bundle", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "not a bundle (no manifest.json); run `slo build` first" in result.stderr


# --- the demo shop behind Traefik (render_demo) ---------------------------------------------

DEMO_SERVICES = {"traefik", "web", "api", "worker", "loadgen"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The demo stack file as the docker CLI's compose parser reads it."""
    path = tmp_path_factory.mktemp("demo") / "demo.yml"
    path.write_text(render_demo("swarm-slo/demo:test"))
    proc = subprocess.run(
        [_tool("docker"), "stack", "config", "-c", path.name],
        cwd=path.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    merged: dict[str, object] = yaml.safe_load(proc.stdout)
    return merged


def _flags(command: list[str]) -> dict[str, str]:
    return dict(arg.removeprefix("--").split("=", 1) for arg in command)


def _port(url_or_address: str) -> int:
    return int(url_or_address.rstrip("/").rsplit(":", 1)[1])


def test_the_docker_cli_accepts_the_demo_stack_and_only_traefik_publishes(demo: dict) -> None:
    services = demo["services"]
    assert set(services) == DEMO_SERVICES
    for name, service in services.items():
        assert service["deploy"]["resources"]["limits"], f"{name} has no resource limits"
        assert service["logging"]["options"]["max-size"] == "10m", f"{name} has no log rotation"
        assert service["deploy"].get("endpoint_mode", "dnsrr") == "dnsrr", name
    published = {n: s["ports"] for n, s in services.items() if s.get("ports")}
    assert list(published) == ["traefik"]  # the web is reached through the edge only
    (port,) = published["traefik"]
    assert (port["published"], port["mode"]) == (8080, "host")
    # No service of the demo mounts the engine's socket: Traefik reads the monitoring stack's proxy.
    for name, service in services.items():
        assert not [v for v in service.get("volumes", []) if v["type"] == "bind"], name


def test_traefik_reads_the_monitoring_stacks_read_only_proxy_as_non_root(demo: dict) -> None:
    config = StackConfig()
    traefik = demo["services"]["traefik"]
    flags = _flags(traefik["command"])
    assert traefik["user"] == "65534:65534"
    assert flags["providers.swarm"] == "true"
    assert flags["providers.swarm.endpoint"] == f"unix://{config.docker_api_socket}"
    assert flags["providers.swarm.exposedByDefault"] == "false"
    assert flags["providers.swarm.network"] == f"{config.name}_{config.network}"
    assert flags["providers.swarm.constraints"] == f"Label(`com.docker.stack.namespace`,`{DEMO_STACK}`)"
    (mount,) = traefik["volumes"]
    assert (mount["type"], mount["source"], mount["target"]) == ("volume", "docker-api", "/run/docker-api")
    # The monitoring stack's node-local volume (stack.yml's `docker-api`, named by its stack).
    assert demo["volumes"]["docker-api"] == {"name": f"{config.name}_docker-api", "external": True}
    assert demo["networks"][config.network] == {"name": f"{config.name}_{config.network}", "external": True}
    # Another monitoring stack name moves both with it.
    other = yaml.safe_load(render_demo("swarm-slo/demo:test", StackConfig(name="slo-e2e")))
    assert other["volumes"]["docker-api"]["name"] == "slo-e2e_docker-api"
    assert _flags(other["services"]["traefik"]["command"])["providers.swarm.network"] == "slo-e2e_monitoring"


def test_the_socket_proxy_lets_traefik_read_what_it_needs_and_nothing_more(rendered: Path) -> None:
    """The Swarm provider's requests (moby client): ping, version, services, networks, tasks,
    and each task's node; the proxy's socket is reachable for group 65534 (Traefik's)."""
    cfg = (rendered.parent / "configs" / "socket-proxy" / "haproxy.cfg").read_text()
    (regex,) = re.findall(r"path_reg (\S+)", cfg)
    allowed = re.compile(regex)
    for path in ("/_ping", "/v1.41/version", "/v1.41/services", "/v1.41/networks", "/v1.41/tasks"):
        assert allowed.search(path), path
    assert allowed.search("/v1.41/nodes/qdn1wnnibksgnln1ig2vsqur0")
    for path in ("/v1.41/secrets", "/v1.41/nodes/x/../../secrets", "/v1.41/configs/x", "/v1.41/nodes/x/update"):
        assert not allowed.search(path), path
    assert re.search(r"^\s*unix-bind mode 660 gid 65534$", cfg, re.M)


def test_traefik_entry_points_ping_and_metrics_agree_with_the_stack(demo: dict) -> None:
    services = demo["services"]
    traefik = services["traefik"]
    flags = _flags(traefik["command"])
    entry = {k.split(".")[1]: _port(v) for k, v in flags.items() if re.fullmatch(r"entryPoints\.\w+\.address", k)}
    assert entry == {"web": 8080, "internal": 8081, "traefik": 8082}
    assert traefik["ports"][0]["target"] == entry["web"]
    # ping and /metrics on the `traefik` entry point (their default), where Prometheus scrapes
    # and the health check asks.
    assert flags["ping"] == flags["metrics.prometheus"] == flags["metrics.prometheus.addRoutersLabels"] == "true"
    assert "ping.entryPoint" not in flags and "metrics.prometheus.entryPoint" not in flags
    labels = traefik["deploy"]["labels"]
    assert labels == {
        "prometheus.scrape": "true",
        "prometheus.port": str(entry["traefik"]),
        "prometheus.job": "traefik",
    }
    test = traefik["healthcheck"]["test"]
    assert test[:4] == ["CMD", "traefik", "healthcheck", "--ping"]
    assert _flags(test[4:]) == {"entryPoints.traefik.address": f":{entry['traefik']}"}
    # The load generator comes in at the edge; the web calls the api through the internal entry point.
    load = services["loadgen"]["command"]
    assert _port(load[load.index("--url") + 1]) == entry["web"] and "traefik:" in load[load.index("--url") + 1]
    assert services["web"]["environment"]["API_URL"] == f"http://traefik:{entry['internal']}"
    assert flags["tracing.otlp.http.endpoint"] == "http://otel-collector:4318/v1/traces"
    assert (flags["accessLog"], flags["accessLog.format"], flags["log.format"]) == ("true", "json", "json")
    # Every bound of a latency SLI must be a bucket bound (examples and the golden test's 0.5 s, 2 s).
    buckets = {float(b) for b in flags["metrics.prometheus.buckets"].split(",")}
    assert {0.3, 0.5, 1.0} <= buckets


# The label keys the demo uses, as Traefik v3's Swarm provider decodes them.
_TRAEFIK_LABEL = re.compile(
    r"traefik\.enable"
    r"|traefik\.http\.routers\.(?P<router>[\w-]+)\.(?:entrypoints|rule|service)"
    r"|traefik\.http\.services\.(?P<service>[\w-]+)\.loadbalancer\.(?:server\.port|healthcheck\.(?:path|interval|timeout))"
)


def test_routers_by_service_labels_match_the_example_traefik_sli(demo: dict, bundle: Path) -> None:
    services = demo["services"]
    entry_points = {k.split(".")[1] for k in _flags(services["traefik"]["command"]) if k.startswith("entryPoints.")}
    # The edge SLI the example compiles (examples/slos/api.yaml, edge-availability).
    rules = (bundle / "prometheus" / "rules" / "shop" / "api.yml").read_text()
    (selector,) = set(re.findall(r'traefik_service_requests_total\{service=~"([^"]+)"', rules))
    routed = {}
    for name in ("web", "api"):
        labels = services[name]["deploy"]["labels"]
        traefik = {k: v for k, v in labels.items() if k.startswith("traefik.")}
        assert traefik["traefik.enable"] == "true"
        for key in traefik:
            assert _TRAEFIK_LABEL.fullmatch(key), f"{name}: unknown Traefik label {key}"
        (router,) = {m["router"] for k in traefik if (m := _TRAEFIK_LABEL.fullmatch(k)) and m["router"]}
        (service,) = {m["service"] for k in traefik if (m := _TRAEFIK_LABEL.fullmatch(k)) and m["service"]}
        prefix = f"traefik.http.routers.{router}"
        assert traefik[f"{prefix}.service"] == service
        assert set(traefik[f"{prefix}.entrypoints"].split(",")) <= entry_points
        assert traefik[f"{prefix}.rule"] == "PathPrefix(`/`)"
        lb = f"traefik.http.services.{service}.loadbalancer"
        assert traefik[f"{lb}.server.port"] == labels["prometheus.port"] == "8080"
        assert traefik[f"{lb}.healthcheck.path"] == "/healthz"
        routed[name] = (traefik[f"{prefix}.entrypoints"], f"{service}@swarm")
    assert routed == {"web": ("web", "shop-web@swarm"), "api": ("internal", "shop-api@swarm")}
    # Traefik's `service` label for the api is what the compiled edge SLI selects, the web's is not.
    assert re.fullmatch(selector, routed["api"][1]) and not re.fullmatch(selector, routed["web"][1])
    for name in ("worker", "loadgen"):
        assert not [k for k in services[name]["deploy"].get("labels", {}) if k.startswith("traefik.")]


def test_several_nodes_get_an_edge_per_node(tmp_path: Path) -> None:
    stack = yaml.safe_load(render_demo("swarm-slo/demo:test", StackConfig(single_node=False)))
    deploy = stack["services"]["traefik"]["deploy"]
    assert (deploy["replicas"], deploy["placement"]["max_replicas_per_node"]) == (2, 1)


def test_the_demo_needs_the_socket_proxy() -> None:
    with pytest.raises(ValueError, match="do not omit socket-proxy with --demo"):
        render_demo("swarm-slo/demo:test", StackConfig(omit=frozenset({"socket-proxy"})))


def test_deploy_with_the_demo_and_without_the_socket_proxy_stops_before_deploying(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stack.deploy

    def no_deploy(*args: object, **kwargs: object) -> None:
        raise AssertionError("deployed although the demo cannot work")

    monkeypatch.setattr(stack.deploy, "deploy", no_deploy)
    out = tmp_path / "stack.yml"
    result = slo(
        ["stack", "deploy", "--bundle", str(bundle), "--out", str(out), "--demo", "--omit", "socket-proxy"],
    )
    assert result.exit_code == 2, result.output
    assert "do not omit socket-proxy with --demo" in result.stderr
    assert not (tmp_path / "demo.yml").exists()
