"""The answers the meta suite renders: the full matrix, and the variants whose gate it runs."""

import itertools
import os
from dataclasses import dataclass
from typing import Any

Answers = dict[str, Any]

PYTHON_VERSIONS = ["3.11", "3.12", "3.13", "3.14"]

# Every combination of the options that change files or code, at the Python floor; the other
# Python versions only change version numbers, so each is rendered once with the defaults.
MATRIX: dict[str, Answers] = {
    f"{auth}-{'domain' if domain else 'skeleton'}-{'docker' if docker else 'nodocker'}-{ci}": {
        "auth": auth,
        "example_domain": domain,
        "docker": docker,
        "ci": ci,
    }
    for auth, domain, docker, ci in itertools.product(
        ["none", "jwt"], [True, False], [True, False], ["github", "gitlab", "none"]
    )
} | {f"python{version}": {"python_version": version} for version in PYTHON_VERSIONS[1:]}
# Test shards change no Python code, only CI files, dependencies and the README: each CI
# provider once, GitLab with the largest number and a newer floor.
MATRIX |= {
    "shards-github": {"test_shards": 4},
    "shards-gitlab": {"ci": "gitlab", "test_shards": 16, "python_version": "3.12"},
}
# Telemetry adds files of its own and hooks in shared ones, which depend on the example domain
# (the HTTP client) and meet JWT's in main.py: with everything, and with nothing else.
MATRIX |= {
    "telemetry-jwt-domain": {"telemetry": True, "auth": "jwt"},
    "telemetry-skeleton": {
        "telemetry": True,
        "example_domain": False,
        "docker": False,
        "ci": "none",
    },
}


@dataclass(frozen=True)
class Gate:
    """A variant whose generated project passes its whole gate, and how it is installed."""

    answers: Answers
    # The interpreter's version; None: the one that runs the meta suite.
    python: str | None = None
    # uv's resolution: "lowest-direct" installs the lower bound of every direct dependency.
    resolution: str = "highest"


# Together they cover every option that changes Python code, the dependencies' lower bounds,
# and every Python the template supports (where the machine has it; CI installs them all).
GATED: dict[str, Gate] = {
    "default": Gate({}),
    "default-lowest": Gate({}, resolution="lowest-direct"),
    "minimal": Gate({"example_domain": False, "docker": False, "ci": "none"}),
    "jwt": Gate({"auth": "jwt", "ci": "gitlab"}),
    "jwt-minimal": Gate({"auth": "jwt", "example_domain": False, "docker": False, "ci": "none"}),
    "telemetry": Gate({"telemetry": True}),
    "telemetry-skeleton": Gate(
        {"telemetry": True, "example_domain": False, "docker": False, "ci": "none"}
    ),
    # The lower bounds of what only some variants install: JWT's libraries, OpenTelemetry's and
    # pytest-split.
    "jwt-lowest": Gate(
        {"auth": "jwt", "ci": "gitlab", "test_shards": 2, "telemetry": True},
        resolution="lowest-direct",
    ),
} | {
    f"python{version}": Gate({"python_version": version}, python=version)
    for version in PYTHON_VERSIONS[1:]
}
# CI splits the gate across jobs: META_VARIANTS=default,jwt runs those two only.
if selected := os.environ.get("META_VARIANTS"):
    GATED = {name: GATED[name] for name in selected.split(",")}
