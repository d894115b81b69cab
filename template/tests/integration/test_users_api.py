import pytest
from httpx import AsyncClient

from tests.fixtures.factories import PostFactory, UserFactory


async def test_create_user_returns_it(async_client: AsyncClient) -> None:
    response = await async_client.post(
        "/api/v1/users", json={"email": "ada@example.com", "full_name": "Ada Lovelace"}
    )

    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "ada@example.com"
    assert body["full_name"] == "Ada Lovelace"
    fetched = await async_client.get(f"/api/v1/users/{body['id']}")
    assert fetched.json() == body


async def test_create_user_with_taken_email_conflicts(async_client: AsyncClient) -> None:
    user = await UserFactory.create_async()

    response = await async_client.post(
        "/api/v1/users", json={"email": user.email, "full_name": "Someone Else"}
    )

    assert response.status_code == 409
    assert user.email in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"full_name": "No Email"}, id="missing-email"),
        pytest.param({"email": "not-an-email", "full_name": "X"}, id="invalid-email"),
        pytest.param({"email": "a@example.com", "full_name": ""}, id="empty-name"),
        pytest.param({"email": "a@example.com", "full_name": "x" * 101}, id="name-too-long"),
        pytest.param({"email": "a@example.com", "full_name": "nul\x00byte"}, id="nul-character"),
    ],
)
async def test_create_user_with_invalid_body_is_refused(
    async_client: AsyncClient, body: dict[str, str]
) -> None:
    response = await async_client.post("/api/v1/users", json=body)

    assert response.status_code == 422


async def test_list_users_is_paginated(async_client: AsyncClient) -> None:
    users = await UserFactory.create_batch_async(3)

    response = await async_client.get("/api/v1/users", params={"limit": 2, "offset": 1})

    assert response.status_code == 200
    page = response.json()
    assert page["total"] == 3
    assert [item["id"] for item in page["items"]] == [user.id for user in users[1:]]


async def test_update_user_changes_only_given_fields(async_client: AsyncClient) -> None:
    user = await UserFactory.create_async()

    response = await async_client.patch(f"/api/v1/users/{user.id}", json={"full_name": "New"})

    assert response.status_code == 200
    assert response.json()["full_name"] == "New"
    assert response.json()["email"] == user.email


async def test_update_user_to_taken_email_conflicts(async_client: AsyncClient) -> None:
    first, second = await UserFactory.create_batch_async(2)

    response = await async_client.patch(f"/api/v1/users/{second.id}", json={"email": first.email})

    assert response.status_code == 409


async def test_delete_user_deletes_their_posts(async_client: AsyncClient) -> None:
    post = await PostFactory.create_async()

    response = await async_client.delete(f"/api/v1/users/{post.author_id}")

    assert response.status_code == 204
    assert (await async_client.get(f"/api/v1/users/{post.author_id}")).status_code == 404
    assert (await async_client.get(f"/api/v1/posts/{post.id}")).status_code == 404


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_missing_user_is_not_found(async_client: AsyncClient, method: str) -> None:
    response = await async_client.request(method, "/api/v1/users/4242", json={})

    assert response.status_code == 404
    assert response.json() == {"detail": "User 4242 not found"}


@pytest.mark.parametrize("user_id", ["0", "2147483648", "abc"])
async def test_user_id_out_of_range_is_refused(async_client: AsyncClient, user_id: str) -> None:
    response = await async_client.get(f"/api/v1/users/{user_id}")

    assert response.status_code == 422
