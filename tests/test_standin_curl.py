"""stack/standin/curl, the curl of the locally built Filebeat and OpenSearch images: the forms the
stack file runs (health checks over TCP, Filebeat's wait for the Docker API proxy over its unix
socket) answer as curl does."""

from __future__ import annotations

import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from tests.conftest import ROOT

CURL = ROOT / "stack" / "standin" / "curl"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"OK" if self.path == "/_ping" else b"no"
        self.send_response(200 if self.path == "/_ping" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _UnixServer(socketserver.UnixStreamServer):
    def get_request(self):  # type: ignore[no-untyped-def]
        request, _ = super().get_request()
        return request, ("unix", 0)  # BaseHTTPRequestHandler wants a (host, port) address


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    sock = tmp_path_factory.mktemp("curl") / "api.sock"
    unix = _UnixServer(str(sock), _Handler)
    tcp = HTTPServer(("127.0.0.1", 0), _Handler)
    for server in (unix, tcp):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{tcp.server_address[1]}", sock
    for server in (unix, tcp):
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("via", "path", "code", "stdout"),
    [
        ("tcp", "/_ping", 0, "OK"),
        ("tcp", "/missing", 22, ""),
        ("unix", "/_ping", 0, "OK"),
        ("unix", "/missing", 22, ""),
        ("no socket", "/_ping", 7, ""),
    ],
)
def test_curl_answers_as_curl_does(servers: tuple[str, Path], via: str, path: str, code: int, stdout: str) -> None:
    base, sock = servers
    if via == "tcp":
        args = [f"{base}{path}"]
    else:
        args = ["--unix-socket", str(sock if via == "unix" else sock.with_name("gone.sock")), f"http://docker{path}"]
    proc = subprocess.run([sys.executable, str(CURL), "-fsS", *args], capture_output=True, text=True, timeout=30)
    assert (proc.returncode, proc.stdout) == (code, stdout), proc.stderr


def test_output_to_dev_null_prints_nothing(servers: tuple[str, Path]) -> None:
    _, sock = servers
    cmd = [sys.executable, str(CURL), "-fsS", "-o", "/dev/null", "--unix-socket", str(sock), "http://docker/_ping"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
