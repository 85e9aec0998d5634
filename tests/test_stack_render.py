"""`slo stack render`: the stack file and its configs, checked by the tools that will read them
(the docker CLI's compose parser, promtool, HAProxy)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import EXAMPLES

from slo.cli import cli
from stack.render import SERVICES, StackConfig, render


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "build"
    result = CliRunner().invoke(cli, ["build", str(EXAMPLES), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def rendered(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    stack_file = tmp_path_factory.mktemp("stack") / "stack.yml"
    result = CliRunner().invoke(
        cli, ["stack", "render", "--bundle", str(bundle), "--out", str(stack_file), "--output", "json"]
    )
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
    opensearch_yml = yaml.safe_load((rendered.parent / "configs" / "opensearch" / "opensearch.yml").read_text())
    assert opensearch_yml["discovery.type"] == "single-node"
    assert opensearch_yml["compatibility.override_main_response_version"] is True


def test_without_the_socket_proxy_filebeat_adds_no_docker_metadata(bundle: Path) -> None:
    rendered = render(bundle, StackConfig(omit=frozenset({"socket-proxy"})))
    stack = yaml.safe_load(rendered.stack_file)
    assert not [v for v in stack["services"]["filebeat"]["volumes"] if v.startswith("docker-api:")]
    (filebeat_yml,) = [c.content for c in rendered.configs if c.service == "filebeat"]
    assert "add_docker_metadata" not in filebeat_yml


def test_several_nodes_get_the_alertmanager_pair_one_per_node(bundle: Path) -> None:
    text = render(bundle, StackConfig(single_node=False)).stack_file
    am = yaml.safe_load(text)["services"]["alertmanager"]["deploy"]
    assert (am["replicas"], am["placement"]["max_replicas_per_node"]) == (2, 1)


def test_omit_leaves_out_a_service_its_configs_and_secret(bundle: Path, tmp_path: Path) -> None:
    stack_file = tmp_path / "stack.yml"
    result = CliRunner().invoke(
        cli,
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
    result = CliRunner().invoke(cli, ["stack", "render", "--bundle", str(bundle), "--out", str(out), *args])
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
    result = CliRunner().invoke(cli, ["stack", "render", "--bundle", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "not a bundle (no manifest.json); run `slo build` first" in result.stderr
