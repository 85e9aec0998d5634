"""The HTTP side: `/metrics` serves the text the sync loop last rendered (no Docker API call
per scrape), `/healthz` says the process is up."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web

from .docker import DockerClient
from .render import CONTENT_TYPE, StateRenderer, render_exporter
from .state import SwarmState
from .stats import ExporterStats
from .sync import SyncConfig, Syncer

__all__ = ["Config", "Exporter", "create_app"]


@dataclass(frozen=True)
class Config:
    docker_host: str | None = field(default_factory=lambda: os.environ.get("DOCKER_HOST"))
    sync: SyncConfig = field(default_factory=SyncConfig)


class Exporter:
    """State, stats and the rendered text, shared by the sync loop and the handler."""

    def __init__(self, config: Config) -> None:
        self.state = SwarmState()
        self.stats = ExporterStats(started=time.time())
        self.client = DockerClient(config.docker_host, self.stats)
        self.syncer = Syncer(self.client, self.state, self.stats, self.rerender, config.sync)
        self.renderer = StateRenderer()
        self.state_text = b""
        self.renders = 0

    def rerender(self) -> None:
        self.state_text = self.renderer.render(self.state)
        self.renders += 1

    def scrape(self) -> bytes:
        return self.state_text + render_exporter(self.stats, self.state, time.time(), self.renderer.reporter)


EXPORTER = web.AppKey("exporter", Exporter)


async def _metrics(request: web.Request) -> web.Response:
    body = request.app[EXPORTER].scrape()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


async def _healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


def create_app(config: Config, exporter: Exporter | None = None) -> web.Application:
    app = web.Application()
    app[EXPORTER] = exporter or Exporter(config)

    async def background(app: web.Application) -> AsyncIterator[None]:
        ex = app[EXPORTER]
        task = asyncio.create_task(ex.syncer.run(), name="docker-sync")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await ex.client.close()

    app.cleanup_ctx.append(background)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/healthz", _healthz)
    return app
