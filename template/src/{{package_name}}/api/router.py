from fastapi import APIRouter

from . import posts, users

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(users.router)
api_router.include_router(posts.router)
