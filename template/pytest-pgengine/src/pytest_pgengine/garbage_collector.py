"""Keeps Python's cyclic garbage collector out of pytest's start and end.

Imported first of the engine's modules (plugin.py), and the engine's plugin first of the
plugins (`-p pgengine` first in `addopts`), it pauses the collector while pytest imports the
other plugins, the conftests, the app and the tests, and freezes what they made once the tests
are collected: modules, classes and collected tests live as long as the run, and a full
collection would walk all of them, again and again (start-up: about 0.1 s; each test over 200:
about 0.4 ms).
"""

import gc

import pytest

gc.disable()


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    # The tests are collected (or, in pytest-xdist's controller, collected by the workers).
    gc.freeze()
    gc.enable()


def pytest_unconfigure(config: pytest.Config) -> None:
    # The run is over: spare the interpreter its final garbage collection over every object
    # the run created, which nothing needs any more (0.4-0.6 s per process, on every run).
    gc.freeze()
