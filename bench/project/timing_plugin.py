"""Records when each test starts and ends, and the process's resident memory, for the benchmark.

Loaded with `-p tests.bench.timing_plugin`; writes JSON to the path in BENCH_OUT.
"""

import json
import os
import time
from pathlib import Path

import pytest

SAMPLE_EVERY = int(os.environ.get("BENCH_SAMPLE_EVERY", "250"))
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
starts: list[float] = []
ends: list[float] = []
memory: list[tuple[int, int]] = []  # (tests finished, resident bytes)


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE


def pytest_runtest_logstart(nodeid: str, location: object) -> None:
    starts.append(time.time())


def pytest_runtest_logfinish(nodeid: str, location: object) -> None:
    ends.append(time.time())
    if len(ends) % SAMPLE_EVERY == 0:
        memory.append((len(ends), resident_bytes()))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    if output := os.environ.get("BENCH_OUT"):
        record = {"starts": starts, "ends": ends, "memory": memory}
        Path(output).write_text(json.dumps(record))
