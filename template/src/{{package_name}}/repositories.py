from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from .errors import ConflictError
from .models import Post, User

UNIQUE_VIOLATION = "23505"


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def page(self, *, limit: int, offset: int) -> tuple[list[User], int]:
        total = await self.session.scalar(select(func.count()).select_from(User))
        users = await self.session.scalars(
            select(User).order_by(User.id).limit(limit).offset(offset)
        )
        return list(users), total or 0

    async def save(self, user: User) -> User:
        """Insert or update `user` and commit; a taken email raises ConflictError."""
        email = user.email  # rollback() expires `user`; reading it afterwards would need I/O
        self.session.add(user)
        try:
            await self.session.commit()
        except IntegrityError as exc:
            await self.session.rollback()
            if getattr(exc.orig, "sqlstate", None) == UNIQUE_VIOLATION:
                raise ConflictError(f"A user with email {email!r} already exists") from exc
            raise
        return user

    async def delete(self, user: User) -> None:
        await self.session.delete(user)
        await self.session.commit()


class PostRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, post_id: int) -> Post | None:
        return await self.session.get(Post, post_id)

    async def page(
        self, *, limit: int, offset: int, author_id: int | None = None
    ) -> tuple[list[Post], int]:
        query = select(Post)
        if author_id is not None:
            query = query.where(Post.author_id == author_id)
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        posts = await self.session.scalars(query.order_by(Post.id).limit(limit).offset(offset))
        return list(posts), total or 0

    async def save(self, post: Post) -> Post:
        self.session.add(post)
        await self.session.commit()
        return post

    async def delete(self, post: Post) -> None:
        await self.session.delete(post)
        await self.session.commit()
