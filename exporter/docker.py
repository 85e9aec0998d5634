"""The only module that talks to Docker: GET requests over aiohttp, with latency and error
accounting, and the event stream.

The endpoint comes from DOCKER_HOST as in the docker CLI: `unix:///path` (the default is
/var/run/docker.sock) or `tcp://host:port` (plain HTTP, as behind a socket proxy; TLS is not
supported). The API version is pinned so a newer engine answers in the shape we parse.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncGenerator, Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from .stats import ExporterStats

__all__ = ["API_VERSION", "DEFAULT_HOST", "DockerClient", "DockerError", "parse_host"]

API_VERSION = "1.41"
DEFAULT_HOST = "unix:///var/run/docker.sock"
_MAX_EVENT_BYTES = 1 << 20
_ID = re.compile(r"^/(containers|services|nodes|tasks)/(?!json$)[^/]+")


class DockerError(Exception):
    """A failed request, with a short kind for metrics (connect, timeout, http_503, decode...)."""

    def __init__(self, endpoint: str, kind: str, detail: str) -> None:
        super().__init__(f"{endpoint}: {kind}: {detail}")
        self.endpoint, self.kind, self.detail = endpoint, kind, detail


def parse_host(host: str | None) -> tuple[str, str | None]:
    """(base URL, unix socket path or None) for a DOCKER_HOST value."""
    host = host or DEFAULT_HOST
    parts = urlsplit(host)
    if parts.scheme == "unix":
        return "http://docker", parts.path or "/var/run/docker.sock"
    if parts.scheme in ("tcp", "http") and parts.hostname:
        return f"http://{parts.netloc}", None
    raise ValueError(f"unsupported DOCKER_HOST {host!r}: use unix:///path or tcp://host:port")


def endpoint_of(path: str) -> str:
    """The metric label of a path: object IDs replaced by {id}."""
    return _ID.sub(lambda m: f"/{m.group(1)}/{{id}}", path)


class DockerClient:
    def __init__(self, host: str | None, stats: ExporterStats, timeout_s: float = 30.0) -> None:
        self._base, self._socket = parse_host(host)
        self._stats = stats
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, connect=5.0)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> DockerClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector: aiohttp.BaseConnector = (
                aiohttp.UnixConnector(path=self._socket) if self._socket else aiohttp.TCPConnector()
            )
            self._session = aiohttp.ClientSession(self._base, connector=connector)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get(self, path: str, params: Mapping[str, str] | None = None, timeout_s: float | None = None) -> Any:
        """GET /v1.41{path} and decode its JSON body; DockerError on any failure (also when
        no whole answer came within `timeout_s`, by default the client's timeout)."""
        endpoint = endpoint_of(path)
        start = time.perf_counter()
        timeout = self._timeout if timeout_s is None else aiohttp.ClientTimeout(total=timeout_s, connect=timeout_s)
        try:
            async with self._get_session().get(f"/v{API_VERSION}{path}", params=params, timeout=timeout) as resp:
                body = await resp.read()
                self._stats.observe(endpoint, time.perf_counter() - start)
                if resp.status != 200:
                    raise self._fail(endpoint, f"http_{resp.status}", _message(body))
                try:
                    return json.loads(body)
                except ValueError as exc:
                    raise self._fail(endpoint, "decode", f"invalid JSON ({exc})") from None
        except DockerError:
            raise
        except Exception as exc:
            raise self._wrap(endpoint, exc) from exc

    async def events(self, filters: Mapping[str, list[str]]) -> AsyncGenerator[Any, None]:
        """Follow GET /events: yields decoded objects (garbage lines are counted and skipped);
        returns when the daemon closes the stream, raises DockerError on a failure."""
        endpoint = "/events"
        start = time.perf_counter()
        timeout = aiohttp.ClientTimeout(total=None, connect=5.0, sock_read=None)
        try:
            async with self._get_session().get(
                f"/v{API_VERSION}/events", params={"filters": json.dumps(filters)}, timeout=timeout
            ) as resp:
                self._stats.observe(endpoint, time.perf_counter() - start)
                if resp.status != 200:
                    raise self._fail(endpoint, f"http_{resp.status}", _message(await resp.read()))
                yield None  # the stream is open: the caller may now load the state
                buffer = b""
                async for chunk in resp.content.iter_any():
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    if len(buffer) > _MAX_EVENT_BYTES:
                        raise self._fail(endpoint, "decode", "event larger than 1 MiB")
                    for line in lines:
                        if not line.strip():
                            continue
                        try:
                            yield json.loads(line)
                        except ValueError:
                            self._stats.error(endpoint, "decode")
        except DockerError:
            raise
        except Exception as exc:
            raise self._wrap(endpoint, exc) from exc

    def _fail(self, endpoint: str, kind: str, detail: str) -> DockerError:
        self._stats.error(endpoint, kind)
        return DockerError(endpoint, kind, detail)

    def _wrap(self, endpoint: str, exc: Exception) -> DockerError:
        if isinstance(exc, asyncio.TimeoutError):
            return self._fail(endpoint, "timeout", "no answer in time")
        if isinstance(exc, aiohttp.ClientConnectorError | FileNotFoundError | ConnectionError):
            return self._fail(endpoint, "connect", str(exc) or type(exc).__name__)
        if isinstance(exc, aiohttp.ClientError):
            return self._fail(endpoint, "connection", str(exc) or type(exc).__name__)
        raise exc


def _message(body: bytes) -> str:
    try:
        decoded = json.loads(body)
    except ValueError:
        return body[:200].decode("utf-8", "replace").strip()
    if isinstance(decoded, dict) and isinstance(decoded.get("message"), str):
        return str(decoded["message"])
    return body[:200].decode("utf-8", "replace").strip()
