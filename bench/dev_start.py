"""How long `uv run dev.py` takes to serve, warm, against the tests' own start-up: rounds of
each, interleaved, with nothing set up (the embedded server, its data kept). Prints medians and
ranges.

    uv run --group bench python -m bench.dev_start [--repeat 7]
"""

import argparse
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.run import ONE_TEST, wall_time
from tools.projects import remove_server_homes, render, snapshot_template, sync, zero_setup_env
from tools.serving import answers, free_port


def first_answer(project: Path) -> float:
    """Seconds from starting dev.py to its first answer of /health; it is stopped after."""
    port = free_port()
    command = [".venv/bin/python", "dev.py", "--port", str(port)]
    started = time.perf_counter()
    # A live process: it serves until it is stopped.
    with subprocess.Popen(
        command, cwd=project, env=zero_setup_env(), stdout=subprocess.DEVNULL
    ) as process:
        try:
            while not answers(f"http://127.0.0.1:{port}/health"):
                assert process.poll() is None, "dev.py exited"
                time.sleep(0.01)
            return time.perf_counter() - started
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    options = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-dev-"))
    try:
        template = snapshot_template(Path(tempfile.mkdtemp(dir=workdir)))
        project = sync(render(template, workdir / "my-service"))
        one_test = [".venv/bin/python", "-m", "pytest", "-q", ONE_TEST]
        first_answer(project)  # the first start: initdb, migrations
        wall_time(one_test, project, zero_setup_env())  # the tests' template
        tests: list[float] = []
        dev: list[float] = []
        for _ in range(options.repeat):
            dev.append(first_answer(project))
            tests.append(wall_time(one_test, project, zero_setup_env()))
        figures = {
            "dev.py, warm: start to the first answer of /health": dev,
            f"one test by name, warm ({ONE_TEST})": tests,
        }
        for name, values in figures.items():
            print(
                f"{name}: {statistics.median(values):.2f} s "
                f"({min(values):.2f}-{max(values):.2f}), {len(values)} runs"
            )
    finally:
        remove_server_homes(workdir / "my-service")
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
