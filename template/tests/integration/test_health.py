from httpx import AsyncClient


async def test_health_answers(async_client: AsyncClient) -> None:
    response = await async_client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_checks_the_database(async_client: AsyncClient) -> None:
    response = await async_client.get("/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
