from datetime import datetime
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StringConstraints

# Ids are PostgreSQL integers (32 bits): a larger value must fail validation, not the driver.
MAX_ID = 2**31 - 1


def _reject_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL characters: refuse them as bad input, not a server error.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


NoNul = AfterValidator(_reject_nul)
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Email = Annotated[EmailStr, StringConstraints(max_length=320), NoNul]
FullName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoNul
]
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoNul
]
Body = Annotated[str, StringConstraints(min_length=1, max_length=10_000), NoNul]

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class UserCreate(BaseModel):
    email: Email
    full_name: FullName


class UserUpdate(BaseModel):
    email: Email | None = None
    full_name: FullName | None = None


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str
    created_at: datetime


class PostCreate(BaseModel):
    author_id: Id
    title: Title
    body: Body


class PostUpdate(BaseModel):
    title: Title | None = None
    body: Body | None = None


class PostRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    author_id: int
    title: str
    body: str
    created_at: datetime


class PostImportResult(BaseModel):
    """The outcome of one item of a batch import: the created post, or why it was refused."""

    index: int
    post: PostRead | None = None
    error: str | None = None
