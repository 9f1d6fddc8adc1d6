"""`download` against a real HTTP server on loopback: a 200, hops on the same host, a hop
elsewhere refused without contacting it, bodies over the cap by their length and by
counting (reading stops), and error statuses."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tasks.files import PreviewFailed, download

SECRET = "X-Signature=s3cr3t"
BODY = b"%PDF-1.4 a small invoice"
CAP = 20 * 2**20
BLOCK = bytes(2**20)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.paths: list[str] = []
        self.sent = 0  # body bytes the streaming route managed to write
        self.streamed = threading.Event()  # ... and it stopped writing
        self.other_port = 0  # where /away points

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"

    def log_message(self, *_: object) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        self.server.paths.append(path)
        route = ROUTES.get(path)
        if route is None:
            self.send_error(404)
            return
        route(self)

    def redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def ok(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def declared_too_big(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(CAP + 1))
        self.end_headers()
        self.wfile.write(BODY)  # and then nothing: the client must not wait for the rest

    def chunked_50_mb(self) -> None:
        """50 MB made on the fly, chunked (no length to refuse it by)."""
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for _ in range(50):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(BLOCK), BLOCK))
                self.server.sent += len(BLOCK)
            self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client hung up: what the test wants
            self.close_connection = True
        finally:
            self.server.streamed.set()

    def forbidden(self) -> None:
        self.send_error(403)


ROUTES = {
    "/ok": Handler.ok,
    "/hop": lambda h: h.redirect("/ok?step=2"),
    "/hop-absolute": lambda h: h.redirect(f"{h.server.base}/hop"),
    "/away": lambda h: h.redirect(f"http://localhost:{h.server.other_port}/ok"),
    "/loop": lambda h: h.redirect("/loop"),
    "/declared-too-big": Handler.declared_too_big,
    "/chunked-50-mb": Handler.chunked_50_mb,
    "/forbidden": Handler.forbidden,
}


def serve() -> Server:
    server = Server()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def servers() -> Iterator[tuple[Server, Server]]:
    main, other = serve(), serve()
    main.other_port = other.server_address[1]
    yield main, other
    for server in (main, other):
        server.shutdown()
        server.server_close()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10, trust_env=False) as client:
        yield client


def refused(http: httpx.Client, url: str) -> str:
    with pytest.raises(PreviewFailed) as failed:
        download(http, url)
    assert SECRET not in str(failed.value) and "127.0.0.1" not in str(failed.value)
    return failed.value.reason


def test_a_200_is_the_body(servers: tuple[Server, Server], http: httpx.Client) -> None:
    main, _ = servers
    assert download(http, f"{main.base}/ok?{SECRET}") == BODY


def test_hops_on_the_same_host_are_followed(
    servers: tuple[Server, Server], http: httpx.Client
) -> None:
    main, _ = servers
    assert download(http, f"{main.base}/hop-absolute?{SECRET}") == BODY
    assert main.paths == ["/hop-absolute", "/hop", "/ok"]


def test_a_hop_to_another_host_is_refused_without_contacting_it(
    servers: tuple[Server, Server], http: httpx.Client
) -> None:
    main, other = servers
    assert refused(http, f"{main.base}/away?{SECRET}") == "redirected"
    assert main.paths == ["/away"] and other.paths == []


def test_a_redirect_loop_ends_after_three_hops(
    servers: tuple[Server, Server], http: httpx.Client
) -> None:
    main, _ = servers
    assert refused(http, f"{main.base}/loop?{SECRET}") == "redirected"
    assert main.paths == ["/loop"] * 4


def test_a_declared_length_over_the_cap_is_refused_at_once(
    servers: tuple[Server, Server], http: httpx.Client
) -> None:
    main, _ = servers
    start = time.monotonic()
    assert refused(http, f"{main.base}/declared-too-big?{SECRET}") == "too_big"
    assert time.monotonic() - start < 5  # not waiting for the 20 MB that never come


def test_a_chunked_body_over_the_cap_stops_being_read(
    servers: tuple[Server, Server], http: httpx.Client
) -> None:
    main, _ = servers
    assert refused(http, f"{main.base}/chunked-50-mb?{SECRET}") == "too_big"
    assert main.streamed.wait(10)  # the server writes on into its socket buffers, then fails
    assert 20 * 2**20 <= main.sent < 40 * 2**20


def test_a_403_and_a_refused_connection_fail(
    servers: tuple[Server, Server], http: httpx.Client
) -> None:
    main, _ = servers
    assert refused(http, f"{main.base}/forbidden?{SECRET}") == "download_failed"
    assert refused(http, f"{main.base}/missing?{SECRET}") == "download_failed"
    closed = serve()
    port = closed.server_address[1]
    closed.shutdown()
    closed.server_close()
    assert refused(http, f"http://127.0.0.1:{port}/ok?{SECRET}") == "download_failed"
