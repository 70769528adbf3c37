"""The viewer against other web pages, slow clients and bad addresses: Host and Origin checks, JSON
errors for every method, a bounded pool with request timeouts, clear one-line bind errors."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from ionscope.model.errors import IonscopeError


def _raw(server, data: bytes, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Send ``data`` as-is on a new connection; return status, headers and body of the answer."""
    host, port = server.server_address[:2]
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, body


def _strict(body: bytes) -> dict:
    def refuse(name: str) -> object:
        raise ValueError(name)
    return json.loads(body, parse_constant=refuse)


def _get(server, path: str, host: str, extra: str = "") -> tuple[int, dict[str, str], bytes]:
    req = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nX-Ionscope-Token: {server.token}\r\n{extra}Connection: close\r\n\r\n"
    return _raw(server, req.encode())


# --------------------------------------------------------------------------- Host and Origin


@pytest.mark.parametrize("host,ok", [("127.0.0.1:{port}", True), ("localhost:{port}", True), ("localhost", True),
                                     ("[::1]:{port}", True), ("127.5.6.7", True), ("LOCALHOST.:{port}", True),
                                     ("evil.example:{port}", False), ("attacker.localhost.evil", False),
                                     ("10.0.0.1", False), ("", False)])
def test_host_header_allow_list(server, host, ok):
    """DNS rebinding: a page on another name that resolves to 127.0.0.1 sends its own name as Host."""
    status, _, body = _get(server, "/api/datasets", host.format(port=server.server_port))
    if ok:
        assert status == 200
    else:
        assert status in (400, 403)
        err = _strict(body)["error"]
        assert err["type"] in ("Forbidden", "BadRequest") and err["path"] is None


def test_allow_remote_accepts_the_bound_and_listed_hosts(samples):
    """Bound to loopback (nothing is exposed) but with --allow-remote semantics for the Host check."""
    from ionscope.viewer import make_server, serve_in_thread

    srv = make_server([samples["spectrum"]], allow_remote=True, allowed_hosts=["viewer.lab.example"])
    serve_in_thread(srv)
    try:
        assert _get(srv, "/api/datasets", "viewer.lab.example:8000")[0] == 200
        assert _get(srv, "/api/datasets", "127.0.0.1")[0] == 200
        assert _get(srv, "/api/datasets", "other.example")[0] == 403
    finally:
        srv.shutdown()
        srv.server_close()
    with pytest.raises(IonscopeError, match="allow-remote"):
        make_server([], allowed_hosts=["viewer.lab.example"])


def _post(server, client, headers: str, body: bytes = b'{"roi": {"type": "rect", "x0": 0, "y0": 0, "x1": 4, "y1": 4}}'):
    path = f"/api/datasets/{client.ids['cross_section']}/roi"
    req = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.server_port}\r\nCookie: ionscope_token={server.token}\r\n"
           f"{headers}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    return _raw(server, req)


def test_post_needs_json_content_type_and_same_origin(server, client):
    port = server.server_port
    own = f"Content-Type: application/json; charset=utf-8\r\nOrigin: http://127.0.0.1:{port}\r\n"
    assert _post(server, client, own)[0] == 200
    assert _post(server, client, "Content-Type: application/json\r\n")[0] == 200  # non-browser client
    for headers, status in [("Content-Type: text/plain\r\n", 415),  # a "simple" cross-site form/fetch
                            ("", 415),
                            ("Content-Type: application/x-www-form-urlencoded\r\n", 415),
                            (f"Content-Type: application/json\r\nOrigin: http://localhost:{port + 1}\r\n", 403),
                            ("Content-Type: application/json\r\nOrigin: null\r\n", 403),
                            ("Content-Type: application/json\r\nOrigin: https://evil.example\r\n", 403),
                            ("Content-Type: application/json\r\nSec-Fetch-Site: same-site\r\n", 403)]:
        code, _, body = _post(server, client, headers)
        assert code == status, headers
        assert set(_strict(body)["error"]) == {"type", "message", "path"}


@pytest.mark.parametrize("method", ["OPTIONS", "TRACE", "PUT", "DELETE", "PATCH", "CONNECT", "BREW", "get"])
def test_every_other_method_is_a_json_405(server, method):
    req = f"{method} /api/datasets HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    status, headers, body = _raw(server, req.encode())
    assert status == 405 and headers["Content-Type"] == "application/json"
    assert headers["Allow"] == "GET, HEAD, POST"
    err = _strict(body)["error"]
    assert err["type"] == "MethodNotAllowed" and method in err["message"]


@pytest.mark.parametrize("request_bytes", [b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                                           b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n",
                                           b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n"])
def test_malformed_requests_get_json_errors(server, request_bytes):
    status, headers, body = _raw(server, request_bytes)
    assert 400 <= status < 600 and status != 500
    assert headers["Content-Type"] == "application/json" and _strict(body)["error"]["message"]


def test_head_answers_headers_only(server):
    req = f"HEAD /api/datasets HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Ionscope-Token: {server.token}\r\n\r\n"
    status, headers, body = _raw(server, req.encode())
    assert status == 200 and int(headers["Content-Length"]) > 0 and body == b""


# --------------------------------------------------------------------------- slow clients and load


@pytest.fixture
def quick_server(samples, monkeypatch):
    """A server whose idle timeout is 0.4 s and request deadline 1.2 s (the defaults are 5 s and 15 s)."""
    import ionscope.viewer.server as srv_mod
    from ionscope.viewer import make_server, serve_in_thread

    monkeypatch.setattr(srv_mod.ViewerHandler, "timeout", 0.4)
    monkeypatch.setattr(srv_mod, "REQUEST_TIMEOUT", 1.2)
    srv = make_server([samples["spectrum"]])
    serve_in_thread(srv)
    yield srv
    srv.shutdown()
    srv.server_close()


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return True
    except TimeoutError:
        return False
    except OSError:
        return True


@pytest.mark.slow
def test_half_open_connections_time_out_and_threads_stay_bounded(quick_server):
    """80 clients that send half a request: the pool keeps its size and every connection is closed."""
    from ionscope.viewer.server import WORKERS

    before = threading.active_count()
    host, port = quick_server.server_address[:2]
    socks = []
    for _ in range(80):
        s = socket.create_connection((host, port))
        s.sendall(b"GET /api/datasets HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # the blank line never comes
        socks.append(s)
    time.sleep(0.3)
    assert threading.active_count() <= before + WORKERS + 1  # a thread pool, not a thread per connection
    # 80 connections through 16 workers at 0.4 s each need ≈ 2 s; allow 5× that on a loaded machine
    deadline = time.monotonic() + 10
    assert all(_closed_within(s, max(0.1, deadline - time.monotonic())) for s in socks)
    for s in socks:
        s.close()
    status, _, _ = _get(quick_server, "/api/datasets", "127.0.0.1")
    assert status == 200


@pytest.mark.slow
def test_a_slow_drip_client_is_cut_at_the_request_deadline(quick_server):
    """One byte every 0.2 s never trips the 0.4 s idle timeout; the 1.2 s request deadline closes it."""
    host, port = quick_server.server_address[:2]
    s = socket.create_connection((host, port))
    t0 = time.monotonic()
    closed = False
    try:
        for _ in range(50):  # at most 10 s
            s.sendall(b"X-Slow: a\r\n" if time.monotonic() - t0 > 0.05 else b"GET / HTTP/1.1\r\n")
            time.sleep(0.2)
    except OSError:
        closed = True
    closed = closed or _closed_within(s, 0.5)
    s.close()
    assert closed and time.monotonic() - t0 < 6


def test_a_full_queue_answers_503_at_once(quick_server, monkeypatch):
    import ionscope.viewer.server as srv_mod

    monkeypatch.setattr(srv_mod, "MAX_PENDING", 2)
    host, port = quick_server.server_address[:2]
    hold = [socket.create_connection((host, port)) for _ in range(2)]
    for s in hold:
        s.sendall(b"GET / HTTP/1.1\r\n")
    time.sleep(0.1)
    status, headers, body = _get(quick_server, "/api/datasets", "127.0.0.1")
    assert status == 503 and headers["Retry-After"] == "1"
    assert _strict(body)["error"]["type"] == "ServiceUnavailable"
    for s in hold:
        s.close()


def test_listen_backlog_is_not_the_default_five(server):
    from ionscope.viewer.server import BACKLOG

    assert server.request_queue_size == BACKLOG >= 64


# --------------------------------------------------------------------------- command line


def test_bad_ports_and_hosts_are_one_line_errors(cli, samples):
    for args, expected in [(("--port", "80000"), "outside 0…65535"), (("--port", "-1"), "outside 0…65535"),
                           (("--host", "no-such-host.invalid", "--allow-remote"), "does not resolve"),
                           (("--allow-host", "x.example"), "needs --allow-remote")]:
        code, out, err = cli("view", "--no-browser", *args, samples["spectrum"])
        assert code == 2 and "Traceback" not in err, err
        assert expected in err and len(err.strip().splitlines()) == 1, err


def test_a_port_in_use_is_a_one_line_error(cli, samples):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = cli("view", "--no-browser", "--port", str(port), samples["spectrum"])
    assert code == 2 and "in use" in err and str(port) in err and len(err.strip().splitlines()) == 1


def test_ipv6_loopback(samples):
    from ionscope.viewer import make_server, serve_in_thread

    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        srv = make_server([samples["spectrum"]], host="::1")
    except IonscopeError as exc:  # IPv6 disabled in the kernel: still a clear error, no traceback
        assert "::1" in str(exc)
        return
    serve_in_thread(srv)
    try:
        assert srv.url.startswith("http://[::1]:")
        assert _get(srv, "/api/datasets", f"[::1]:{srv.server_port}")[0] == 200
    finally:
        srv.shutdown()
        srv.server_close()
