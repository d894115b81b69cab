from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, status

from ..database import SessionmakerDep
from ..schemas import MAX_ID, Page, PostCreate, PostImportResult, PostRead, PostUpdate
from ..services import import_posts
from .dependencies import Limit, Offset, PostServiceDep

router = APIRouter(prefix="/posts", tags=["posts"])

PostId = Annotated[int, Path(ge=1, le=MAX_ID)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such post (or author)"}}


@router.post("", status_code=status.HTTP_201_CREATED, responses=NOT_FOUND)
async def create_post(data: PostCreate, service: PostServiceDep) -> PostRead:
    return PostRead.model_validate(await service.create(data))


@router.post("/import")
async def import_posts_batch(
    items: Annotated[list[PostCreate], Body(max_length=100)], sessionmaker: SessionmakerDep
) -> list[PostImportResult]:
    """Create many posts; each is committed on its own, so one bad item keeps the rest."""
    return await import_posts(sessionmaker, items)


@router.get("", responses=NOT_FOUND)
async def list_posts(
    service: PostServiceDep,
    limit: Limit = 20,
    offset: Offset = 0,
    author_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Page[PostRead]:
    posts, total = await service.page(limit=limit, offset=offset, author_id=author_id)
    items = [PostRead.model_validate(post) for post in posts]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/{post_id}", responses=NOT_FOUND)
async def get_post(post_id: PostId, service: PostServiceDep) -> PostRead:
    return PostRead.model_validate(await service.get(post_id))


@router.patch("/{post_id}", responses=NOT_FOUND)
async def update_post(post_id: PostId, data: PostUpdate, service: PostServiceDep) -> PostRead:
    return PostRead.model_validate(await service.update(post_id, data))


@router.delete("/{post_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_post(post_id: PostId, service: PostServiceDep) -> None:
    await service.delete(post_id)
