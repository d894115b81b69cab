from httpx import AsyncClient

from tests.fixtures.factories import PostFactory, UserFactory


async def test_create_post_for_existing_author(async_client: AsyncClient) -> None:
    author = await UserFactory.create_async()

    response = await async_client.post(
        "/api/v1/posts", json={"author_id": author.id, "title": "Hello", "body": "First post"}
    )

    assert response.status_code == 201
    assert response.json()["author_id"] == author.id
    assert response.json()["title"] == "Hello"


async def test_create_post_for_unknown_author_is_not_found(async_client: AsyncClient) -> None:
    response = await async_client.post(
        "/api/v1/posts", json={"author_id": 4242, "title": "Hello", "body": "Orphan"}
    )

    assert response.status_code == 404
    assert response.json() == {"detail": "User 4242 not found"}


async def test_create_post_with_blank_title_is_refused(async_client: AsyncClient) -> None:
    author = await UserFactory.create_async()

    response = await async_client.post(
        "/api/v1/posts", json={"author_id": author.id, "title": "   ", "body": "Text"}
    )

    assert response.status_code == 422


async def test_list_posts_by_author(async_client: AsyncClient) -> None:
    author, other = await UserFactory.create_batch_async(2)
    mine = await PostFactory.create_batch_async(2, author=author)
    await PostFactory.create_async(author=other)

    response = await async_client.get("/api/v1/posts", params={"author_id": author.id})

    assert response.status_code == 200
    assert response.json()["total"] == 2
    assert [item["id"] for item in response.json()["items"]] == [post.id for post in mine]


async def test_list_posts_of_unknown_author_is_not_found(async_client: AsyncClient) -> None:
    response = await async_client.get("/api/v1/posts", params={"author_id": 4242})

    assert response.status_code == 404


async def test_update_and_delete_post(async_client: AsyncClient) -> None:
    post = await PostFactory.create_async()

    updated = await async_client.patch(f"/api/v1/posts/{post.id}", json={"title": "Renamed"})
    deleted = await async_client.delete(f"/api/v1/posts/{post.id}")

    assert updated.status_code == 200
    assert updated.json()["title"] == "Renamed"
    assert updated.json()["body"] == post.body
    assert deleted.status_code == 204
    assert (await async_client.get(f"/api/v1/posts/{post.id}")).status_code == 404


async def test_missing_post_is_not_found(async_client: AsyncClient) -> None:
    response = await async_client.get("/api/v1/posts/4242")

    assert response.status_code == 404
    assert response.json() == {"detail": "Post 4242 not found"}


async def test_import_keeps_good_items_when_one_is_refused(async_client: AsyncClient) -> None:
    author = await UserFactory.create_async()
    items = [
        {"author_id": author.id, "title": "One", "body": "1"},
        {"author_id": 4242, "title": "Orphan", "body": "?"},
        {"author_id": author.id, "title": "Two", "body": "2"},
    ]

    response = await async_client.post("/api/v1/posts/import", json=items)

    assert response.status_code == 200
    results = response.json()
    assert [result["error"] for result in results] == [None, "User 4242 not found", None]
    listed = await async_client.get("/api/v1/posts", params={"author_id": author.id})
    assert [item["title"] for item in listed.json()["items"]] == ["One", "Two"]
