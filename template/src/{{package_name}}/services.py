from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .errors import NotFoundError
from .models import Post, User
from .repositories import PostRepository, UserRepository
from .schemas import PostCreate, PostImportResult, PostRead, PostUpdate, UserCreate, UserUpdate


class UserService:
    def __init__(self, users: UserRepository) -> None:
        self.users = users

    async def get(self, user_id: int) -> User:
        user = await self.users.get(user_id)
        if user is None:
            raise NotFoundError("User", user_id)
        return user

    async def page(self, *, limit: int, offset: int) -> tuple[list[User], int]:
        return await self.users.page(limit=limit, offset=offset)

    async def create(self, data: UserCreate) -> User:
        return await self.users.save(User(email=data.email, full_name=data.full_name))

    async def update(self, user_id: int, data: UserUpdate) -> User:
        user = await self.get(user_id)
        for field, value in data.model_dump(exclude_unset=True, exclude_none=True).items():
            setattr(user, field, value)
        return await self.users.save(user)

    async def delete(self, user_id: int) -> None:
        await self.users.delete(await self.get(user_id))


class PostService:
    def __init__(self, posts: PostRepository, users: UserRepository) -> None:
        self.posts = posts
        self.users = users

    async def get(self, post_id: int) -> Post:
        post = await self.posts.get(post_id)
        if post is None:
            raise NotFoundError("Post", post_id)
        return post

    async def page(
        self, *, limit: int, offset: int, author_id: int | None = None
    ) -> tuple[list[Post], int]:
        if author_id is not None and await self.users.get(author_id) is None:
            raise NotFoundError("User", author_id)
        return await self.posts.page(limit=limit, offset=offset, author_id=author_id)

    async def create(self, data: PostCreate) -> Post:
        if await self.users.get(data.author_id) is None:
            raise NotFoundError("User", data.author_id)
        return await self.posts.save(Post(**data.model_dump()))

    async def update(self, post_id: int, data: PostUpdate) -> Post:
        post = await self.get(post_id)
        for field, value in data.model_dump(exclude_unset=True, exclude_none=True).items():
            setattr(post, field, value)
        return await self.posts.save(post)

    async def delete(self, post_id: int) -> None:
        await self.posts.delete(await self.get(post_id))


async def import_posts(
    sessionmaker: async_sessionmaker[AsyncSession], items: list[PostCreate]
) -> list[PostImportResult]:
    """Create each post in a transaction of its own: one refused item keeps the others."""
    results = []
    for index, item in enumerate(items):
        async with sessionmaker() as session:
            service = PostService(PostRepository(session), UserRepository(session))
            try:
                post = await service.create(item)
            except NotFoundError as exc:
                results.append(PostImportResult(index=index, error=exc.detail))
            else:
                results.append(PostImportResult(index=index, post=PostRead.model_validate(post)))
    return results
