"""FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

from app.api.routes import auth, billing, customers, organizations, services, subscriptions, users

app = FastAPI(title="pgstack example backend")
for module in (organizations, auth, users, customers, services, subscriptions, billing):
    app.include_router(module.router)


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
