"""The app's engine, sessions and Redis client, built once at start-up (lifespan)."""

from collections.abc import AsyncIterator
from dataclasses import dataclass

import redis.asyncio as redis
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker


@dataclass
class Resources:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: redis.Redis


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; the endpoint commits what it wants kept."""
    resources: Resources = request.app.state.resources
    async with resources.sessions() as session:
        yield session


def get_redis(request: Request) -> redis.Redis:
    return request.app.state.resources.redis
