import uuid

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import crud
from app.core.config import settings
from app.models import Item, ItemCreate
from tests.utils.item import create_random_item

ITEMS = f"{settings.API_V1_STR}/items"


def test_create_item(client: TestClient, superuser_token_headers: dict[str, str]) -> None:
    data = {"title": "Foo", "description": "Fighters"}
    r = client.post(f"{ITEMS}/", headers=superuser_token_headers, json=data)
    assert r.status_code == 200
    content = r.json()
    assert content["title"] == data["title"]
    assert content["description"] == data["description"]
    assert "id" in content
    assert "owner_id" in content


def test_create_item_belongs_to_caller(
    client: TestClient, normal_user_token_headers: dict[str, str], db: Session
) -> None:
    r = client.post(f"{ITEMS}/", headers=normal_user_token_headers, json={"title": "Mine"})
    assert r.status_code == 200
    owner = crud.get_user_by_email(session=db, email=settings.EMAIL_TEST_USER)
    assert owner
    assert r.json()["owner_id"] == str(owner.id)
    assert r.json()["description"] is None


def test_create_item_empty_title(
    client: TestClient, superuser_token_headers: dict[str, str]
) -> None:
    r = client.post(f"{ITEMS}/", headers=superuser_token_headers, json={"title": ""})
    assert r.status_code == 422


def test_read_item(
    client: TestClient, superuser_token_headers: dict[str, str], db: Session
) -> None:
    item = create_random_item(db)
    r = client.get(f"{ITEMS}/{item.id}", headers=superuser_token_headers)
    assert r.status_code == 200
    content = r.json()
    assert content["title"] == item.title
    assert content["description"] == item.description
    assert content["id"] == str(item.id)
    assert content["owner_id"] == str(item.owner_id)


def test_read_item_not_found(client: TestClient, superuser_token_headers: dict[str, str]) -> None:
    r = client.get(f"{ITEMS}/{uuid.uuid4()}", headers=superuser_token_headers)
    assert r.status_code == 404
    assert r.json()["detail"] == "Item not found"


def test_read_item_not_enough_permissions(
    client: TestClient, normal_user_token_headers: dict[str, str], db: Session
) -> None:
    item = create_random_item(db)
    r = client.get(f"{ITEMS}/{item.id}", headers=normal_user_token_headers)
    assert r.status_code == 403
    assert r.json()["detail"] == "Not enough permissions"


def test_read_own_item(
    client: TestClient, normal_user_token_headers: dict[str, str], db: Session
) -> None:
    owner = crud.get_user_by_email(session=db, email=settings.EMAIL_TEST_USER)
    assert owner
    item = crud.create_item(
        session=db, item_in=ItemCreate(title="own", description="thing"), owner_id=owner.id
    )
    r = client.get(f"{ITEMS}/{item.id}", headers=normal_user_token_headers)
    assert r.status_code == 200
    assert r.json()["title"] == "own"


def test_read_items(
    client: TestClient, superuser_token_headers: dict[str, str], db: Session
) -> None:
    create_random_item(db)
    create_random_item(db)
    r = client.get(f"{ITEMS}/", headers=superuser_token_headers)
    assert r.status_code == 200
    content = r.json()
    assert len(content["data"]) >= 2
    assert content["count"] >= 2


def test_read_items_superuser_sees_everything(
    client: TestClient, superuser_token_headers: dict[str, str], db: Session
) -> None:
    create_random_item(db)
    r = client.get(f"{ITEMS}/", headers=superuser_token_headers, params={"limit": 1000})
    assert r.status_code == 200
    total = len(db.exec(select(Item)).all())
    assert r.json()["count"] == total
    assert len(r.json()["data"]) == total


def test_read_items_normal_user_sees_only_own(
    client: TestClient, normal_user_token_headers: dict[str, str], db: Session
) -> None:
    owner = crud.get_user_by_email(session=db, email=settings.EMAIL_TEST_USER)
    assert owner
    create_random_item(db)  # somebody else's
    crud.create_item(session=db, item_in=ItemCreate(title="mine"), owner_id=owner.id)

    r = client.get(f"{ITEMS}/", headers=normal_user_token_headers)
    assert r.status_code == 200
    content = r.json()
    assert content["count"] >= 1
    assert all(i["owner_id"] == str(owner.id) for i in content["data"])


def test_update_item(
    client: TestClient, superuser_token_headers: dict[str, str], db: Session
) -> None:
    item = create_random_item(db)
    data = {"title": "Updated title", "description": "Updated description"}
    r = client.put(f"{ITEMS}/{item.id}", headers=superuser_token_headers, json=data)
    assert r.status_code == 200
    content = r.json()
    assert content["title"] == data["title"]
    assert content["description"] == data["description"]
    assert content["id"] == str(item.id)
    assert content["owner_id"] == str(item.owner_id)


def test_update_item_not_found(client: TestClient, superuser_token_headers: dict[str, str]) -> None:
    data = {"title": "Updated title", "description": "Updated description"}
    r = client.put(f"{ITEMS}/{uuid.uuid4()}", headers=superuser_token_headers, json=data)
    assert r.status_code == 404
    assert r.json()["detail"] == "Item not found"


def test_update_item_not_enough_permissions(
    client: TestClient, normal_user_token_headers: dict[str, str], db: Session
) -> None:
    item = create_random_item(db)
    data = {"title": "Updated title", "description": "Updated description"}
    r = client.put(f"{ITEMS}/{item.id}", headers=normal_user_token_headers, json=data)
    assert r.status_code == 403
    assert r.json()["detail"] == "Not enough permissions"


def test_delete_item(
    client: TestClient, superuser_token_headers: dict[str, str], db: Session
) -> None:
    item = create_random_item(db)
    item_id = item.id
    r = client.delete(f"{ITEMS}/{item_id}", headers=superuser_token_headers)
    assert r.status_code == 200
    assert r.json()["message"] == "Item deleted successfully"
    db.expire_all()
    assert db.get(Item, item_id) is None


def test_delete_item_not_found(client: TestClient, superuser_token_headers: dict[str, str]) -> None:
    r = client.delete(f"{ITEMS}/{uuid.uuid4()}", headers=superuser_token_headers)
    assert r.status_code == 404
    assert r.json()["detail"] == "Item not found"


def test_delete_item_not_enough_permissions(
    client: TestClient, normal_user_token_headers: dict[str, str], db: Session
) -> None:
    item = create_random_item(db)
    r = client.delete(f"{ITEMS}/{item.id}", headers=normal_user_token_headers)
    assert r.status_code == 403
    assert r.json()["detail"] == "Not enough permissions"


def test_deleting_owner_deletes_items(
    client: TestClient, superuser_token_headers: dict[str, str], db: Session
) -> None:
    item = create_random_item(db)
    item_id, owner_id = item.id, item.owner_id
    r = client.delete(f"{settings.API_V1_STR}/users/{owner_id}", headers=superuser_token_headers)
    assert r.status_code == 200
    r = client.get(f"{ITEMS}/{item_id}", headers=superuser_token_headers)
    assert r.status_code == 404
