"""File transfers at the speed of the network: one reused buffer, sha256 taken as the bytes arrive.

The API calls go through httpx; the files (shards of hundreds of MB, or thousands of items) do not by default.
httpx reads a body through h11 in 64 KiB pieces with Python work for each, and re-chunks them by copying:
on loopback that held a single download to about 0.5 GB/s and, holding the GIL, slowed the parallel ones
too. `http.client` reads straight from the socket into our buffer (`readinto`, the GIL released while it
waits), so a download costs one copy out of the kernel, one sha256 pass and one write, all in C. It is used
for plain http/https links when no proxy applies; otherwise (a proxy, or a custom httpx transport, as the
tests use) the same loop runs over httpx's stream.
"""
from __future__ import annotations

import http.client
import ssl
import threading
import urllib.request
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urljoin, urlsplit

import httpx

REDIRECTS = {301, 302, 303, 307, 308}
MAX_REDIRECTS = 5


class Body(Protocol):
    status: int
    headers: dict[str, str]

    def readinto(self, buffer: memoryview) -> int: ...

    def text(self) -> str: ...


@dataclass
class _DirectBody:
    response: http.client.HTTPResponse
    status: int
    headers: dict[str, str]

    def readinto(self, buffer: memoryview) -> int:
        return self.response.readinto(buffer) or 0

    def text(self) -> str:
        return self.response.read().decode(errors="replace")


class _HttpxBody:
    """The same reads over an httpx stream (a proxy, a test transport): copies, but the same loop."""

    def __init__(self, response: httpx.Response, chunk: int):
        self.response, self.status = response, response.status_code
        self.headers = {k.lower(): v for k, v in response.headers.items()}
        self._chunks: Iterator[bytes] = response.iter_bytes(chunk)
        self._left = memoryview(b"")

    def readinto(self, buffer: memoryview) -> int:
        if not self._left:
            self._left = memoryview(next(self._chunks, b""))
        n = min(len(buffer), len(self._left))
        buffer[:n] = self._left[:n]
        self._left = self._left[n:]
        return n

    def text(self) -> str:
        return (bytes(self._left) + b"".join(self._chunks)).decode(errors="replace")


class Transfers:
    """GETs of signed links, each answered as a Body; at most one idle connection per thread and origin."""

    def __init__(self, *, files: httpx.Client, direct: bool, timeout: float, user_agent: str,
                 ssl_context: ssl.SSLContext | None = None):
        self.files, self.direct, self.timeout, self.user_agent = files, direct, timeout, user_agent
        self.ssl_context = ssl_context
        self._local = threading.local()
        self._open: weakref.WeakSet[http.client.HTTPConnection] = weakref.WeakSet()
        self._lock = threading.Lock()

    @contextmanager
    def get(self, url: str, headers: dict[str, str], chunk: int) -> Iterator[Body]:
        if not (self.direct and self._reachable_directly(url)):
            with self.files.stream("GET", url, headers=headers) as response:
                yield _HttpxBody(response, chunk)
            return
        for _ in range(MAX_REDIRECTS + 1):
            conn, response = self._request(url, headers)
            if response.status in REDIRECTS and response.getheader("Location"):
                response.read()  # drained, so the connection can serve the next request
                self._release(url, conn, response)
                url = urljoin(url, response.getheader("Location"))
                continue
            body = _DirectBody(response, response.status, {k.lower(): v for k, v in response.getheaders()})
            try:
                yield body
            except BaseException:
                conn.close()  # the body was not read to its end: the connection cannot be reused
                raise
            self._release(url, conn, response)
            return
        raise httpx.TooManyRedirects(f"More than {MAX_REDIRECTS} redirects from {url}.")

    def close(self) -> None:
        """Close every connection still open, whichever thread opened it."""
        with self._lock:
            conns = list(self._open)
        for conn in conns:
            conn.close()

    # --- connections ---------------------------------------------------------------

    def _reachable_directly(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return False
        proxies = urllib.request.getproxies()
        return not (proxies.get(parts.scheme) or proxies.get("all")) or bool(
            urllib.request.proxy_bypass(parts.hostname or ""))

    def _request(self, url: str, headers: dict[str, str]) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        parts = urlsplit(url)
        origin = (parts.scheme, parts.netloc)
        idle = self._idle()
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sent = {"User-Agent": self.user_agent, "Accept-Encoding": "identity", **headers}
        conn = idle.pop(origin, None)
        if conn is not None:  # an idle connection the server may have closed since: one retry on a fresh one
            try:
                conn.request("GET", path, headers=sent)
                return conn, conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionError, http.client.BadStatusLine):
                conn.close()
        conn = self._connect(parts)
        conn.request("GET", path, headers=sent)
        return conn, conn.getresponse()

    def _connect(self, parts) -> http.client.HTTPConnection:
        if parts.scheme == "https":
            # httpx's trust store (certifi, or SSL_CERT_FILE), so both paths accept the same servers.
            context = self.ssl_context or httpx.create_ssl_context()
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=self.timeout, context=context)
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.timeout)
        with self._lock:
            self._open.add(conn)
        return conn

    def _idle(self) -> dict:
        if not hasattr(self._local, "idle"):
            self._local.idle = {}
        return self._local.idle

    def _release(self, url: str, conn: http.client.HTTPConnection, response: http.client.HTTPResponse) -> None:
        parts = urlsplit(url)
        if response.will_close or not response.isclosed():
            conn.close()
            return
        previous = self._idle().pop((parts.scheme, parts.netloc), None)
        if previous is not None and previous is not conn:
            previous.close()
        self._idle()[(parts.scheme, parts.netloc)] = conn
