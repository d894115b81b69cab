"""A generated project's service, served by uvicorn as its Dockerfile serves it, on a free port
of the loopback interface: for the meta tests and benchmarks that talk to a live server."""

import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def serve_command(project: Path, port: int, package: str = "my_service") -> list[str]:
    """The Dockerfile's command line, on `port` of the loopback interface."""
    uvicorn = str(project / ".venv" / "bin" / "uvicorn")
    target = f"{package}.main:create_app"
    return [uvicorn, "--factory", target, "--host", "127.0.0.1", "--port", str(port)]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except OSError:  # refused, reset, or not yet listening (URLError is one)
        return False


@contextmanager
def served(project: Path, env: dict[str, str], log: Path, timeout: float = 60) -> Iterator[str]:
    """The project's service, started with `env`; its base URL while the block runs. Its output
    goes to `log`. Fails when it exits or does not answer GET /health within `timeout`."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("w") as output:
        process = subprocess.Popen(
            serve_command(project, port), cwd=project, env=env, stdout=output, stderr=output
        )
    try:
        deadline = time.monotonic() + timeout
        while not answers(f"{base}/health"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the service did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
