"""Grafana provisioning: datasources (Prometheus, Alertmanager, Jaeger) with fixed UIDs, and
one file provider whose folders follow the bundle's `grafana/dashboards/<team>/` layout.
Addresses are the stack's service names; users of another setup edit only these files."""

from __future__ import annotations

from collections.abc import Iterator

from slo.render import to_yaml

DASHBOARDS_PATH = "/etc/grafana/dashboards"  # where the stack mounts grafana/dashboards

DATASOURCES = {
    "apiVersion": 1,
    "datasources": [
        {
            "name": "Prometheus",
            "uid": "prometheus",
            "type": "prometheus",
            "access": "proxy",
            "url": "http://prometheus:9090",
            "isDefault": True,
            "jsonData": {"timeInterval": "15s"},
        },
        {
            "name": "Alertmanager",
            "uid": "alertmanager",
            "type": "alertmanager",
            "access": "proxy",
            "url": "http://alertmanager:9093",
            "jsonData": {"implementation": "prometheus", "handleGrafanaManagedAlerts": False},
        },
        {
            "name": "Jaeger",
            "uid": "jaeger",
            "type": "jaeger",
            "access": "proxy",
            "url": "http://jaeger:16686",
        },
    ],
}

DASHBOARDS = {
    "apiVersion": 1,
    "providers": [
        {
            "name": "swarm-slo",
            "type": "file",
            "disableDeletion": True,
            "allowUiUpdates": False,
            "updateIntervalSeconds": 60,
            "options": {"path": DASHBOARDS_PATH, "foldersFromFilesStructure": True},
        }
    ],
}


def provisioning_files() -> Iterator[tuple[str, str]]:
    yield "grafana/provisioning/datasources/swarm-slo.yml", to_yaml(DATASOURCES)
    yield "grafana/provisioning/dashboards/swarm-slo.yml", to_yaml(DASHBOARDS)
