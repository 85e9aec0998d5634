"""`slo validate --prometheus URL`: checks that need live series."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from decimal import Decimal, InvalidOperation

from . import promql
from .errors import InputError
from .load import LoadedService
from .sli import LatencySLI, SLIContext, _HTTPLatency
from .yamlpos import Path

__all__ = ["check_buckets"]


def _query(base: str, expr: str, timeout: float) -> list[dict[str, object]]:
    url = base.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        body = json.load(resp)
    if body.get("status") != "success":
        raise RuntimeError(f"Prometheus answered {body.get('error', body)}")
    result: list[dict[str, object]] = body["data"]["result"]
    return result


def check_buckets(services: list[LoadedService], prometheus: str, timeout: float = 10.0) -> list[InputError]:
    """A classic-histogram threshold must be one of the live `le` bucket boundaries."""
    errors = []
    for svc in services:
        for i, slo in enumerate(svc.spec.slos):
            sli = slo.sli
            if not isinstance(sli, LatencySLI | _HTTPLatency) or sli.histogram != "classic":
                continue
            ctx = SLIContext(svc.spec.service, svc.spec.stack, "5m")
            thresholds: list[tuple[Path, Decimal]] = [(("slos", i, "sli", "threshold"), sli.bound())]
            for j, obj in enumerate(slo.objectives):
                if obj.threshold is not None:
                    bound = sli.replace(threshold=obj.threshold).bound()
                    thresholds.append((("slos", i, "objectives", j, "threshold"), bound))
            metric, matchers = sli.histogram_series(ctx)
            sel = promql.vector_selector(f"{metric}_bucket", matchers)
            rows = _query(prometheus, f"count by (le) ({sel})", timeout)
            bounds = set()
            for row in rows:
                labels = row.get("metric")
                le = labels.get("le") if isinstance(labels, dict) else None
                try:
                    bounds.add(Decimal(str(le)))
                except (InvalidOperation, TypeError):
                    continue
            for path, bound in thresholds:
                if not rows:
                    errors.append(svc.error(path, f"no live series match {sel} at {prometheus}"))
                elif bound not in bounds:
                    shown = ", ".join(str(b.normalize()) for b in sorted(b for b in bounds if b.is_finite()))
                    errors.append(
                        svc.error(
                            path,
                            f"{bound.normalize()} is not a bucket boundary of {metric} (live: {shown})",
                        )
                    )
    return errors
