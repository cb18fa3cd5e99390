"""A loopback HTTP server that answers as a payment gateway would, for the gateway tests.

``FakeGateway(answer)`` listens on 127.0.0.1 (a free port) in a thread; every request is
recorded in ``requests`` and answered by ``answer(request) -> (status, headers, body)``.
The fixture ``fake_gateway`` in tests/test_payment_gateways.py starts one per test and
always shuts it down. Sockets time out after a few seconds, so a test cannot hang on it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass
class FakeRequest:
    """One request the fake gateway received."""

    method: str
    path: str  # without the query string
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        """The body as a urlencoded form."""
        return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))


Answer = Callable[[FakeRequest], tuple[int, dict[str, str], bytes]]


@dataclass
class FakeGateway:
    """A threaded loopback server; ``url`` is its base address."""

    answer: Answer
    requests: list[FakeRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 5

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                req = FakeRequest(
                    method=self.command,
                    path=parts.path,
                    query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                    headers={k: v for k, v in self.headers.items()},
                    body=body,
                )
                gateway.requests.append(req)
                try:
                    status, headers, payload = gateway.answer(req)
                except Exception as exc:  # a test's answer failed: say so, do not hang
                    status, headers, payload = 599, {}, repr(exc).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
