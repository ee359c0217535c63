import uuid
from typing import Any

from fastapi import APIRouter, HTTPException
from sqlmodel import func, select

from app import crud
from app.api.deps import CurrentUser, SessionDep
from app.models import Item, ItemCreate, ItemPublic, ItemsPublic, ItemUpdate, Message

router = APIRouter(prefix="/items", tags=["items"])


@router.get("/", response_model=ItemsPublic)
def read_items(
    session: SessionDep, current_user: CurrentUser, skip: int = 0, limit: int = 100
) -> Any:
    """Superusers see every item; everybody else sees their own."""
    count_statement = select(func.count()).select_from(Item)
    statement = select(Item)
    if not current_user.is_superuser:
        count_statement = count_statement.where(Item.owner_id == current_user.id)
        statement = statement.where(Item.owner_id == current_user.id)
    count = session.exec(count_statement).one()
    items = session.exec(statement.offset(skip).limit(limit)).all()
    return ItemsPublic(data=items, count=count)


def _get_visible_item(session: SessionDep, current_user: CurrentUser, item_id: uuid.UUID) -> Item:
    item = session.get(Item, item_id)
    if not item:
        raise HTTPException(status_code=404, detail="Item not found")
    if not current_user.is_superuser and item.owner_id != current_user.id:
        raise HTTPException(status_code=403, detail="Not enough permissions")
    return item


@router.get("/{item_id}", response_model=ItemPublic)
def read_item(session: SessionDep, current_user: CurrentUser, item_id: uuid.UUID) -> Any:
    return _get_visible_item(session, current_user, item_id)


@router.post("/", response_model=ItemPublic)
def create_item(*, session: SessionDep, current_user: CurrentUser, item_in: ItemCreate) -> Any:
    return crud.create_item(session=session, item_in=item_in, owner_id=current_user.id)


@router.put("/{item_id}", response_model=ItemPublic)
def update_item(
    *, session: SessionDep, current_user: CurrentUser, item_id: uuid.UUID, item_in: ItemUpdate
) -> Any:
    item = _get_visible_item(session, current_user, item_id)
    item.sqlmodel_update(item_in.model_dump(exclude_unset=True))
    session.add(item)
    session.commit()
    session.refresh(item)
    return item


@router.delete("/{item_id}")
def delete_item(session: SessionDep, current_user: CurrentUser, item_id: uuid.UUID) -> Message:
    item = _get_visible_item(session, current_user, item_id)
    session.delete(item)
    session.commit()
    return Message(message="Item deleted successfully")
