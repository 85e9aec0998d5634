"""Template variables: the datasource is always a variable, so one dashboard file works with
any Prometheus a user names; filters on the labels people route on."""

from __future__ import annotations

from grafanalib.core import Template

from slo import naming

JAEGER_URL = "http://localhost:16686"  # the stack publishes Jaeger's UI here; a textbox to change it


def datasource() -> Template:
    return Template(name="datasource", label="Prometheus", query="prometheus", type="datasource")


def jaeger_url() -> Template:
    return Template(name="jaeger_url", label="Jaeger URL", query=JAEGER_URL, default=JAEGER_URL, type="textbox")


def label_filter(label: str, title: str, narrowed_by: tuple[str, ...] = (), metric: str = naming.OBJECTIVE) -> Template:
    """A multi-value filter on `label` of `metric`, its choices narrowed by the filters before it."""
    matchers = ",".join(f'{n}=~"${n}"' for n in narrowed_by)
    return Template(
        name=label,
        label=title,
        query=f"label_values({metric}{{{matchers}}}, {label})",
        dataSource={"type": "prometheus", "uid": "${datasource}"},
        includeAll=True,
        multi=True,
        allValue=".*",
        default="$__all",
        refresh=2,
    )
