"""A webhook receiver for rehearsals: where every notification goes when the stack is deployed
with `--rehearse` (each receiver of the on-call file becomes a webhook to /<receiver>), so a
demo or a test sees who would have been paged, without paging anyone.

Logs one JSON line per alert in each notification, keeps the last ones in memory and serves
them on GET /notifications. Only aiohttp and the standard library: it runs in the exporter's
image.

    python3 -m stack.webhook_sink --listen 0.0.0.0:9099
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import deque
from typing import Any

from aiohttp import web

KEEP = 1000
_NOTIFICATIONS = web.AppKey[deque[dict[str, Any]]]("notifications")


def summarize(receiver: str, payload: dict[str, Any], received: float) -> list[dict[str, Any]]:
    """One record per alert: what a person paged would read first."""
    out = []
    for alert in payload.get("alerts") or []:
        labels = alert.get("labels") or {}
        annotations = alert.get("annotations") or {}
        out.append(
            {
                "received": round(received, 3),
                "receiver": receiver,
                "status": alert.get("status", payload.get("status", "")),
                "alertname": labels.get("alertname", ""),
                "labels": labels,
                "runbook_url": annotations.get("runbook_url", ""),
                "summary": annotations.get("summary", ""),
                "starts_at": alert.get("startsAt", ""),
                "ends_at": alert.get("endsAt", ""),
                "fingerprint": alert.get("fingerprint", ""),
                "group_key": payload.get("groupKey", ""),
            }
        )
    return out


async def _receive(request: web.Request) -> web.Response:
    try:
        payload = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return web.json_response({"error": "expected an Alertmanager webhook payload (JSON)"}, status=400)
    if not isinstance(payload, dict):
        return web.json_response({"error": "expected a JSON object"}, status=400)
    records = summarize(request.match_info["receiver"], payload, time.time())
    store = request.app[_NOTIFICATIONS]
    for r in records:
        store.append(r)
        print(json.dumps(r, sort_keys=True), flush=True)
    return web.json_response({"alerts": len(records)})


async def _list(request: web.Request) -> web.Response:
    store = request.app[_NOTIFICATIONS]
    return web.json_response(list(store))


async def _healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


def app() -> web.Application:
    a = web.Application()
    notifications: deque[dict[str, Any]] = deque(maxlen=KEEP)
    a[_NOTIFICATIONS] = notifications
    a.router.add_get("/healthz", _healthz)
    a.router.add_get("/notifications", _list)
    a.router.add_post("/{receiver}", _receive)
    return a


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="webhook-sink", description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="0.0.0.0:9099", help="HOST:PORT")
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    print(json.dumps({"msg": "listening", "listen": args.listen}), file=sys.stderr, flush=True)
    web.run_app(app(), host=host or "0.0.0.0", port=int(port), print=None, access_log=None)


if __name__ == "__main__":
    main()
