"""FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

from app.api.routes import customers, organizations

app = FastAPI(title="pgstack example backend")
app.include_router(organizations.router)
app.include_router(customers.router)


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
