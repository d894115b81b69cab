"""A rolling restart rehearsed on the loopback interface, as the Kubernetes manifests (k8s/)
run one: replicas of a generated service behind a small TCP proxy, which plays the Service
(each new connection goes to one of the replicas in rotation, as kube-proxy sends it to a
ready endpoint), restarted one at a time under a bounded load. Each restart takes its steps in
the manifests' order: out of rotation (not ready), the preStop sleep while the connections
already made finish, SIGTERM (uvicorn stops accepting and drains the requests in flight),
exit, a new process, ready, back in rotation.

Shared by tests/test_rolling_restart.py and bench/rolling_restart.py.
"""

import asyncio
import http.client
import itertools
import signal
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from tools.projects import database_url, project_env
from tools.serving import answers, free_port, serve_command, wait_until_up

# What the load asks: a route that reads the database, and the liveness route.
PATHS = ["/api/v1/users?limit=5", "/health"]


class Balancer:
    """A TCP proxy on a free loopback port, in a thread of its own: each connection goes to the
    next replica in rotation; one that finds none, or whose replica refuses it, is closed
    without an answer (the caller sees a failed request)."""

    def __init__(self) -> None:
        self.rotation: list[int] = []
        self.turn = itertools.count()
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        self.thread = threading.Thread(target=self.serve, args=(started,), daemon=True)
        self.thread.start()
        started.wait(10)

    def serve(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self.forward, "127.0.0.1", 0))
        self.port: int = server.sockets[0].getsockname()[1]
        started.set()
        self.loop.run_forever()
        server.close()
        # The connections still open: cancelled, then the loop closed.
        tasks = asyncio.all_tasks(self.loop)
        for task in tasks:
            task.cancel()
        self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self.loop.run_until_complete(asyncio.sleep(0.1))  # the sockets closing
        self.loop.close()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    async def forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        rotation = list(self.rotation)
        try:
            if not rotation:
                raise ConnectionRefusedError("no replica in rotation")
            port = rotation[next(self.turn) % len(rotation)]
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            writer.close()
            return
        except asyncio.CancelledError:  # the balancer closes
            writer.close()
            return
        with suppress(asyncio.CancelledError):  # the balancer closes: pipe closes the sockets
            await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until either side closes, or the balancer does, then close the other."""
    try:
        with suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
    finally:
        writer.close()


@dataclass
class Replica:
    """One uvicorn process of the service, as the Dockerfile starts it, on a port of its own."""

    project: Path
    env: dict[str, str]
    log: Path
    graceful: int
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        """Start it, and return once it is ready (GET /ready answers 200)."""
        command = serve_command(
            self.project, self.port, options=["--timeout-graceful-shutdown", str(self.graceful)]
        )
        with self.log.open("a") as output:
            self.process = subprocess.Popen(
                command, cwd=self.project, env=self.env, stdout=output, stderr=output
            )
        ready = f"http://127.0.0.1:{self.port}/ready"
        wait_until_up(
            self.process,
            lambda: answers(ready),
            self.log,
            timeout,
            "a replica",
            "did not get ready",
        )

    def stop(self) -> int:
        """SIGTERM, as the kubelet sends it after preStop; its exit code: -SIGTERM once uvicorn
        has shut down (it raises the signal again, which PID 1 in a container ignores), or
        -SIGKILL when it has not within its graceful timeout and 10 s."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=self.graceful + 10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return -signal.SIGKILL


@dataclass
class Load:
    """Requests through the balancer from `callers` threads, each on a new connection, until
    stopped or `limit` requests or `seconds` have passed: every answer's status (0: no answer)
    and latency."""

    port: int
    callers: int = 8
    limit: int = 20_000
    seconds: float = 180
    statuses: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def call(self, path: str) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        started = time.perf_counter()
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            status = 0
            self.errors.append(f"{path}: {exc!r}")
        finally:
            connection.close()
        self.latencies.append(time.perf_counter() - started)
        self.statuses.append(status)

    def caller(self, number: int) -> None:
        deadline = time.monotonic() + self.seconds
        for count in itertools.count(number):
            if self.stopping.is_set() or time.monotonic() > deadline:
                return
            if len(self.statuses) >= self.limit:
                return
            self.call(PATHS[count % len(PATHS)])

    @contextmanager
    def running(self) -> Iterator["Load"]:
        threads = [threading.Thread(target=self.caller, args=(n,)) for n in range(self.callers)]
        for thread in threads:
            thread.start()
        try:
            yield self
        finally:
            self.stopping.set()
            for thread in threads:
                thread.join()

    def figures(self) -> dict[str, float]:
        latencies = sorted(self.latencies)
        return {
            "requests": len(self.statuses),
            "failed (no answer)": self.statuses.count(0),
            "5xx": sum(status >= 500 for status in self.statuses),
            "other than 200": sum(status != 200 for status in self.statuses),
            "p50 ms": 1000 * statistics.median(latencies),
            "p99 ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        }


def service_env(database: str, pgbouncer: int | None = None) -> dict[str, str]:
    """The replicas' environment: `database` on the meta suite's server, or through the
    PgBouncer on port `pgbouncer` (transaction mode, tools/pgbouncer.py) with the switch on, as
    the manifests' PgBouncer component sets them."""
    if pgbouncer is None:
        return project_env(DATABASE_URL=database_url(project_env(), database, "postgresql+asyncpg"))
    return project_env(
        DATABASE_URL=f"postgresql+asyncpg://postgres@127.0.0.1:{pgbouncer}/{database}",
        DATABASE_TRANSACTION_POOLER="true",
    )


@contextmanager
def service_replicas(
    project: Path, env: dict[str, str], folder: Path, graceful: int, count: int = 3
) -> Iterator[tuple[Balancer, list[Replica]]]:
    """`count` replicas of the service in `project`, started and in the balancer's rotation
    until the block ends; then the balancer closes and every replica still running stops."""
    replicas = [Replica(project, env, folder / f"replica{n}.log", graceful) for n in range(count)]
    balancer = Balancer()
    try:
        for replica in replicas:
            replica.start()
        balancer.rotation = [replica.port for replica in replicas]
        yield balancer, replicas
    finally:
        balancer.close()
        for replica in replicas:
            if replica.process and replica.process.poll() is None:
                replica.stop()


def rolling_restart(
    balancer: Balancer,
    replicas: list[Replica],
    pre_stop: float,
    settle: float = 2,
    out_of_rotation_first: bool = True,
) -> list[int]:
    """Restart each replica in turn, as a Deployment's rolling update does; the exit codes of
    the processes stopped. `settle` seconds of load before, between and after. Without
    `out_of_rotation_first`, a replica is stopped while the proxy still sends it connections
    (as when the Service learns of the stop late, without a preStop sleep): they fail."""
    exits = []
    time.sleep(settle)
    for index, old in enumerate(replicas):
        if out_of_rotation_first:
            balancer.rotation = [r.port for r in replicas if r is not old]  # not ready
            time.sleep(pre_stop)  # preStop: the connections already made finish
        exits.append(old.stop())
        new = Replica(old.project, old.env, old.log, old.graceful)
        new.start()
        replicas[index] = new
        balancer.rotation = [r.port for r in replicas]  # ready
        time.sleep(settle)
    return exits
