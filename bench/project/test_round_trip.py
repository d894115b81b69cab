"""The benchmark's workload: create a user through the API, then read it back."""

import os

import pytest
from httpx import AsyncClient

CASES = int(os.environ.get("BENCH_CASES", "200"))


@pytest.mark.parametrize("case", range(CASES))
async def test_round_trip(bench_client: AsyncClient, case: int) -> None:
    body = {"email": f"user{case}@example.com", "full_name": f"User {case}"}

    created = await bench_client.post("/api/v1/users", json=body)
    fetched = await bench_client.get(f"/api/v1/users/{created.json()['id']}")

    assert created.status_code == 201
    assert fetched.json()["full_name"] == body["full_name"]
