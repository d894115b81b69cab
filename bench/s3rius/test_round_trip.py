"""The benchmark's workload on s3rius/FastAPI-template's project, with its own fixtures.

bench/compare.py copies this module into the generated project's tests/. It is the same
shape as ours (bench/project/test_round_trip.py): create a row through the API, read it back,
assert. The dummy API differs from ours, and this is its closest equivalent:

- It has no POST: a dummy is created with PUT /api/dummy/, which answers 200 with no body,
  so there is no id to read back by.
- It has no GET by id: the dummy is read back with its list endpoint, GET /api/dummy/. Each
  test starts on an empty table (`dbsession` rolls back the test's transaction), so the list
  holds exactly the new dummy; limit=2, so that a row left behind would fail the test rather
  than be cut off.

The fixtures are the project's own conftest's: `client` (an httpx client on the ASGI app),
which requests `fastapi_app` (a new app per test, its session dependency overridden by
`dbsession`, a session in a transaction rolled back after the test).
"""

import os

import pytest
from httpx import AsyncClient

CASES = int(os.environ.get("BENCH_CASES", "200"))


@pytest.mark.parametrize("case", range(CASES))
async def test_round_trip(client: AsyncClient, case: int) -> None:
    name = f"Dummy {case}"

    created = await client.put("/api/dummy/", json={"name": name})
    fetched = await client.get("/api/dummy/", params={"limit": 2})

    assert created.status_code == 200
    assert [dummy["name"] for dummy in fetched.json()] == [name]
