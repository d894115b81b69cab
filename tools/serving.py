"""A generated project's service, served by uvicorn as its Dockerfile serves it, on a free port
of the loopback interface: for the meta tests and benchmarks that talk to a live server."""

import http.client
import json
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def serve_command(
    project: Path, port: int, package: str = "my_service", options: Sequence[str] = ()
) -> list[str]:
    """The Dockerfile's command line, on `port` of the loopback interface, with uvicorn's
    `options` (`--workers 2`)."""
    uvicorn = str(project / ".venv" / "bin" / "uvicorn")
    target = f"{package}.main:create_app"
    listen = ["--host", "127.0.0.1", "--port", str(port)]
    return [uvicorn, "--factory", target, *listen, "--no-server-header", *options]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except OSError:  # refused, reset, or not yet listening (URLError is one)
        return False


def wait_until_up(
    process: subprocess.Popen[Any],
    up: Callable[[], bool],
    log: Path,
    timeout: float,
    what: str,
    failure: str = "did not start",
) -> None:
    """Return once `up()`; fail, showing `log`, if `process` ends or `timeout` passes first."""
    deadline = time.monotonic() + timeout
    while not up():
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{what} {failure}:\n{log.read_text()}")
        time.sleep(0.1)


@contextmanager
def served(
    project: Path,
    env: dict[str, str],
    log: Path,
    timeout: float = 60,
    options: Sequence[str] = (),
) -> Iterator[str]:
    """The project's service, started with `env` and uvicorn's `options`; its base URL while the
    block runs. Its output goes to `log`. Fails when it exits or does not answer GET /health
    within `timeout`."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("w") as output:
        process = subprocess.Popen(
            serve_command(project, port, options=options),
            cwd=project,
            env=env,
            stdout=output,
            stderr=output,
        )
    try:
        wait_until_up(process, lambda: answers(f"{base}/health"), log, timeout, "the service")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Answer:
    """A response: its status, headers and body, whatever the status."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.text = body.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.text)


class Client:
    """The service over HTTP, as an outside caller: anonymous, or with a bearer token."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.address = urlsplit(base)
        self.token = token

    def request(
        self,
        method: str,
        path: str,
        body: object = None,
        raw: bytes | Iterator[bytes] | None = None,
    ) -> Answer:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        content = raw if raw is not None else None if body is None else json.dumps(body).encode()
        host, port = self.address.hostname or "127.0.0.1", self.address.port
        connection = http.client.HTTPConnection(host, port, timeout=120)
        try:
            chunked = isinstance(content, Iterator)
            connection.request(method, path, content, headers, encode_chunked=chunked)
            response = connection.getresponse()
            return Answer(response.status, dict(response.getheaders()), response.read())
        finally:
            connection.close()
