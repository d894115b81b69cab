"""Debian's PgBouncer in transaction mode, on a free port of the loopback interface, in front of
the meta suite's server: for the meta tests and benchmarks that run a service, or a test suite,
through a pooler.

PgBouncer comes from apt (`.ci/run` installs it). It refuses to run as root: as root it runs
as another user.
"""

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from tools.machine import unprivileged_user
from tools.projects import project_env
from tools.serving import free_port, wait_until_up

# Server connections per database and user: fewer than a service's 2 workers x 5 pooled
# connections, so that the transactions of one client connection move between them.
POOL_SIZE = 4
MISSING = "pgbouncer is not installed (Debian: apt-get install pgbouncer)"


def pgbouncer_program() -> str | None:
    """Where pgbouncer is installed (Debian puts it in /usr/sbin), or None."""
    return shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")


def pgbouncer_config(folder: Path, port: int, pool_size: int) -> tuple[Path, str]:
    """Transaction mode, on `port` of the loopback interface, in front of the meta suite's
    server (TCP, or its Unix socket's folder); clients log in as anyone. Its file, and the
    user to run it as when the tests run as root (PgBouncer refuses root): the owner of the
    server's socket folder, which others may not enter, or else the meta suite's user."""
    server = make_url(project_env()["TEST_DATABASE_URL"])
    host = str(server.query.get("host") or server.host or "127.0.0.1")
    port_of_server = server.query.get("port") or server.port or 5432
    target = f"host={host} port={port_of_server} user={server.username or 'postgres'}"
    if server.password:
        target += f" password={server.password}"
    config = folder / "pgbouncer.ini"
    config.write_text(
        f"""\
[databases]
* = {target}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 200
"""
    )
    return config, Path(host).owner() if host.startswith("/") else unprivileged_user()


@contextmanager
def running_pgbouncer(program: str, folder: Path, pool_size: int = POOL_SIZE) -> Iterator[int]:
    """A new PgBouncer (`program`) for the block, its configuration and log in `folder`; its
    port. Fails when it does not start within 30 s."""
    port = free_port()
    config, user = pgbouncer_config(folder, port, pool_size)
    command = [program, str(config)]
    if os.geteuid() == 0:
        command[1:1] = ["-u", user]
    log = folder / "pgbouncer.log"
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=output)
    try:
        wait_until_up(process, lambda: "process up" in log.read_text(), log, 30, "pgbouncer")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
