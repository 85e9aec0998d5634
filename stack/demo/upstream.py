"""Calls to the next role (web -> api, api -> worker): one client span each, the W3C trace
context injected into the request headers, a short timeout. Failures are answers, not
exceptions: the caller degrades instead of failing its own request (see roles.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
from opentelemetry.propagate import inject
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.semconv.attributes.http_attributes import HTTP_REQUEST_METHOD, HTTP_RESPONSE_STATUS_CODE
from opentelemetry.semconv.attributes.server_attributes import SERVER_ADDRESS, SERVER_PORT
from opentelemetry.semconv.attributes.url_attributes import URL_FULL
from opentelemetry.trace import SpanKind, StatusCode, Tracer
from yarl import URL

__all__ = ["Reply", "Upstream"]


@dataclass(frozen=True)
class Reply:
    status: int  # 0 when no answer came (refused, reset, timed out)
    body: Any = None
    error: str = ""

    def ok(self, *expected: int) -> bool:
        return self.status in expected


class Upstream:
    def __init__(self, base_url: str, tracer: Tracer, timeout_s: float) -> None:
        self.base = URL(base_url)
        self.tracer = tracer
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def call(self, method: str, path: str, body: object = None) -> Reply:
        url = self.base.join(URL(path))
        attributes: dict[str, str | int] = {
            HTTP_REQUEST_METHOD: method,
            URL_FULL: str(url),
            SERVER_ADDRESS: url.host or "",
            SERVER_PORT: url.port or 80,
        }
        with self.tracer.start_as_current_span(f"{method} {path}", kind=SpanKind.CLIENT, attributes=attributes) as span:
            headers: dict[str, str] = {}
            inject(headers)  # traceparent (and tracestate) of this client span
            try:
                async with self.session.request(method, url, json=body, headers=headers) as resp:
                    data = await resp.json() if resp.content_type == "application/json" else await resp.text()
                    span.set_attribute(HTTP_RESPONSE_STATUS_CODE, resp.status)
                    if resp.status >= 500:
                        span.set_attribute(ERROR_TYPE, str(resp.status))
                        span.set_status(StatusCode.ERROR)
                    return Reply(resp.status, data)
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = type(exc).__qualname__
                span.set_attribute(ERROR_TYPE, error)
                span.record_exception(exc)
                span.set_status(StatusCode.ERROR, str(exc) or error)
                return Reply(0, None, f"{error}: {exc}" if str(exc) else error)
