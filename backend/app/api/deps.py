"""Typed dependencies shared by the routes (tests override the functions behind them)."""

from __future__ import annotations

from typing import Annotated

import redis
from fastapi import Depends
from sqlalchemy.orm import Session

from app.core.cache import get_redis
from app.core.db import get_session

SessionDep = Annotated[Session, Depends(get_session)]
CacheDep = Annotated[redis.Redis, Depends(get_redis)]
