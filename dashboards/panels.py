"""grafanalib panel builders with the defaults every panel of ours shares: the datasource
variable, a description, a unit and thresholds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from grafanalib.core import GridPos, RowPanel, Stat, Target, Threshold, TimeSeries

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""
    instant: bool = False


@dataclass(frozen=True)
class Step:
    """A threshold step: from `value` up, `color`. The first step of a panel has no value."""

    color: str
    value: float | None = None


def _targets(queries: Sequence[Query]) -> list[Target]:
    return [
        Target(
            expr=q.expr,
            legendFormat=q.legend,
            refId=chr(ord("A") + i),
            instant=q.instant,
            datasource=DATASOURCE,
        )
        for i, q in enumerate(queries)
    ]


def _thresholds(steps: Sequence[Step]) -> list[Threshold]:
    return [Threshold(s.color, i, float(s.value or 0)) for i, s in enumerate(steps)]


def row(title: str, panel_id: int, y: int) -> RowPanel:
    return RowPanel(title=title, id=panel_id, gridPos=GridPos(h=1, w=24, x=0, y=y))


def stat(
    title: str,
    description: str,
    queries: Sequence[Query],
    unit: str,
    steps: Sequence[Step],
    panel_id: int,
    pos: tuple[int, int, int, int],
    *,
    decimals: int | None = None,
    time_from: str | None = None,
    links: Sequence[dict[str, str]] = (),
) -> Stat:
    x, y, w, h = pos
    return Stat(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=_targets(queries),
        format=unit,
        decimals=decimals,
        thresholds=_thresholds(steps),
        id=panel_id,
        gridPos=GridPos(h=h, w=w, x=x, y=y),
        graphMode="none",
        reduceCalc="lastNotNull",
        timeFrom=time_from,
        links=list(links),
    )


def timeseries(
    title: str,
    description: str,
    queries: Sequence[Query],
    unit: str,
    steps: Sequence[Step],
    panel_id: int,
    pos: tuple[int, int, int, int],
    *,
    threshold_lines: bool = False,
) -> TimeSeries:
    x, y, w, h = pos
    return TimeSeries(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=_targets(queries),
        unit=unit,
        thresholds=_thresholds(steps),
        thresholdsStyleMode="line" if threshold_lines else "off",
        id=panel_id,
        gridPos=GridPos(h=h, w=w, x=x, y=y),
        legendDisplayMode="list",
        tooltipMode="multi",
    )
