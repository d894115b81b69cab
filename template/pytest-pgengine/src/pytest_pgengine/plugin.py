"""The engine's pytest plugin, registered as `pgengine` (the `pytest11` entry point).

It brings the hooks that start the server and the databases (startup.py), the database fixtures
(fixtures.py), the leak guards (guards.py) and the ini options (config.py). Name it first in
`addopts` (`-p pgengine`) so that it is imported before the other plugins: its first import
pauses the garbage collector for the rest of pytest's start (garbage_collector.py).
"""

import pytest

from . import garbage_collector  # first: it pauses the collector from here on
from .config import add_ini_options

pytest_plugins = [
    garbage_collector.__name__,
    "pytest_pgengine.startup",
    "pytest_pgengine.fixtures",
    "pytest_pgengine.guards",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    add_ini_options(parser)
