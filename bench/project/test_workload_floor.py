"""The workload alone: the same round trips and the same isolation per case, in one test.

What a test of test_round_trip.py costs beyond this is what pytest and the fixtures add per
test. Writes milliseconds per case to the path in BENCH_OUT.
"""

import os
import time
from pathlib import Path

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from tests.fixtures.client import sessions_from

CASES = int(os.environ.get("BENCH_CASES", "200"))


async def test_workload_floor(app: FastAPI, db_engine: AsyncEngine) -> None:
    started = time.perf_counter()
    for case in range(CASES):
        async with db_engine.connect() as connection:
            transaction = await connection.begin()
            sessionmaker = async_sessionmaker(
                bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
            )
            with sessions_from(app, sessionmaker):
                transport = ASGITransport(app=app)
                async with AsyncClient(transport=transport, base_url="http://test") as client:
                    body = {"email": f"user{case}@example.com", "full_name": f"User {case}"}
                    created = await client.post("/api/v1/users", json=body)
                    fetched = await client.get(f"/api/v1/users/{created.json()['id']}")
                    assert fetched.json()["full_name"] == body["full_name"]
            await transaction.rollback()
    per_case_ms = (time.perf_counter() - started) / CASES * 1000
    Path(os.environ["BENCH_OUT"]).write_text(str(per_case_ms))
