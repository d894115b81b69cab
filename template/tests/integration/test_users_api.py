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


async def test_list_users_is_paginated(async_client: AsyncClient) -> None:
    users = await UserFactory.create_batch_async(3)

    response = await async_client.get("/api/v1/users", params={"limit": 2, "offset": 1})

    assert response.status_code == 200
    page = response.json()
    assert page["total"] == 3
    assert [item["id"] for item in page["items"]] == [user.id for user in users[1:]]


async def test_delete_user_deletes_their_posts(async_client: AsyncClient) -> None:
    post = await PostFactory.create_async()

    response = await async_client.delete(f"/api/v1/users/{post.author_id}")

    assert response.status_code == 204
    assert (await async_client.get(f"/api/v1/posts/{post.id}")).status_code == 404
