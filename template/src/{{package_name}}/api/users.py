from typing import Annotated, Any

from fastapi import APIRouter, Path, status

from ..schemas import MAX_ID, Page, UserCreate, UserRead, UserUpdate
from .dependencies import Limit, Offset, UserServiceDep

router = APIRouter(prefix="/users", tags=["users"])

UserId = Annotated[int, Path(ge=1, le=MAX_ID)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such user"}}


@router.post(
    "", status_code=status.HTTP_201_CREATED, responses={409: {"description": "Email taken"}}
)
async def create_user(data: UserCreate, service: UserServiceDep) -> UserRead:
    return UserRead.model_validate(await service.create(data))


@router.get("", response_model=Page[UserRead])
async def list_users(
    service: UserServiceDep, limit: Limit = 20, offset: Offset = 0
) -> Page[UserRead]:
    users, total = await service.page(limit=limit, offset=offset)
    items = [UserRead.model_validate(user) for user in users]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/{user_id}", responses=NOT_FOUND)
async def get_user(user_id: UserId, service: UserServiceDep) -> UserRead:
    return UserRead.model_validate(await service.get(user_id))


@router.patch("/{user_id}", responses={**NOT_FOUND, 409: {"description": "Email taken"}})
async def update_user(user_id: UserId, data: UserUpdate, service: UserServiceDep) -> UserRead:
    return UserRead.model_validate(await service.update(user_id, data))


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_user(user_id: UserId, service: UserServiceDep) -> None:
    await service.delete(user_id)
