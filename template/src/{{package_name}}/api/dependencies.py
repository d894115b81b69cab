from typing import Annotated

from fastapi import Depends, Query

from ..database import SessionDep
from ..repositories import PostRepository, UserRepository
from ..services import PostService, UserService


def get_user_repository(session: SessionDep) -> UserRepository:
    return UserRepository(session)


def get_post_repository(session: SessionDep) -> PostRepository:
    return PostRepository(session)


UserRepositoryDep = Annotated[UserRepository, Depends(get_user_repository)]
PostRepositoryDep = Annotated[PostRepository, Depends(get_post_repository)]


def get_user_service(users: UserRepositoryDep) -> UserService:
    return UserService(users)


def get_post_service(posts: PostRepositoryDep, users: UserRepositoryDep) -> PostService:
    return PostService(posts, users)


UserServiceDep = Annotated[UserService, Depends(get_user_service)]
PostServiceDep = Annotated[PostService, Depends(get_post_service)]

Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
