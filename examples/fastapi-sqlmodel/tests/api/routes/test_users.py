import uuid

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import crud
from app.core.config import settings
from app.core.security import verify_password
from app.models import User, UserCreate
from tests.utils.user import create_random_user, user_authentication_headers
from tests.utils.utils import random_email, random_lower_string

USERS = f"{settings.API_V1_STR}/users"


def test_get_users_superuser_me(
    client: TestClient, superuser_token_headers: dict[str, str]
) -> None:
    r = client.get(f"{USERS}/me", headers=superuser_token_headers)
    current_user = r.json()
    assert current_user
    assert current_user["is_active"] is True
    assert current_user["is_superuser"]
    assert current_user["email"] == settings.FIRST_SUPERUSER


def test_get_users_normal_user_me(
    client: TestClient, normal_user_token_headers: dict[str, str]
) -> None:
    r = client.get(f"{USERS}/me", headers=normal_user_token_headers)
    current_user = r.json()
    assert current_user
    assert current_user["is_active"] is True
    assert current_user["is_superuser"] is False
    assert current_user["email"] == settings.EMAIL_TEST_USER


def test_create_user_new_email(
    client: TestClient, superuser_token_headers: dict[str, str], db: Session
) -> None:
    username = random_email()
    password = random_lower_string()
    data = {"email": username, "password": password}
    r = client.post(f"{USERS}/", headers=superuser_token_headers, json=data)
    assert 200 <= r.status_code < 300
    created_user = r.json()
    user = crud.get_user_by_email(session=db, email=username)
    assert user
    assert user.email == created_user["email"]
    assert "hashed_password" not in created_user
    assert "password" not in created_user


def test_get_existing_user(
    client: TestClient, superuser_token_headers: dict[str, str], db: Session
) -> None:
    user = create_random_user(db)
    r = client.get(f"{USERS}/{user.id}", headers=superuser_token_headers)
    assert 200 <= r.status_code < 300
    api_user = r.json()
    existing_user = crud.get_user_by_email(session=db, email=user.email)
    assert existing_user
    assert existing_user.email == api_user["email"]


def test_get_existing_user_current_user(client: TestClient, db: Session) -> None:
    username = random_email()
    password = random_lower_string()
    user = crud.create_user(session=db, user_create=UserCreate(email=username, password=password))
    headers = user_authentication_headers(client=client, email=username, password=password)

    r = client.get(f"{USERS}/{user.id}", headers=headers)
    assert 200 <= r.status_code < 300
    assert r.json()["email"] == username


def test_get_existing_user_permissions_error(
    client: TestClient, normal_user_token_headers: dict[str, str], db: Session
) -> None:
    other = create_random_user(db)
    r = client.get(f"{USERS}/{other.id}", headers=normal_user_token_headers)
    assert r.status_code == 403
    assert r.json() == {"detail": "The user doesn't have enough privileges"}


def test_get_non_existing_user(client: TestClient, superuser_token_headers: dict[str, str]) -> None:
    r = client.get(f"{USERS}/{uuid.uuid4()}", headers=superuser_token_headers)
    assert r.status_code == 404
    assert r.json()["detail"] == "User not found"


def test_create_user_existing_username(
    client: TestClient, superuser_token_headers: dict[str, str], db: Session
) -> None:
    user = create_random_user(db)
    data = {"email": user.email, "password": random_lower_string()}
    r = client.post(f"{USERS}/", headers=superuser_token_headers, json=data)
    created_user = r.json()
    assert r.status_code == 400
    assert "_id" not in created_user


def test_create_user_by_normal_user(
    client: TestClient, normal_user_token_headers: dict[str, str]
) -> None:
    data = {"email": random_email(), "password": random_lower_string()}
    r = client.post(f"{USERS}/", headers=normal_user_token_headers, json=data)
    assert r.status_code == 403


def test_create_user_with_short_password(
    client: TestClient, superuser_token_headers: dict[str, str]
) -> None:
    data = {"email": random_email(), "password": "short"}
    r = client.post(f"{USERS}/", headers=superuser_token_headers, json=data)
    assert r.status_code == 422


def test_retrieve_users(
    client: TestClient, superuser_token_headers: dict[str, str], db: Session
) -> None:
    create_random_user(db)
    create_random_user(db)

    r = client.get(f"{USERS}/", headers=superuser_token_headers)
    all_users = r.json()

    assert r.status_code == 200
    assert len(all_users["data"]) > 1
    assert all_users["count"] >= len(all_users["data"])
    for item in all_users["data"]:
        assert "email" in item


def test_retrieve_users_pagination(
    client: TestClient, superuser_token_headers: dict[str, str], db: Session
) -> None:
    for _ in range(3):
        create_random_user(db)

    r = client.get(f"{USERS}/", headers=superuser_token_headers, params={"skip": 0, "limit": 2})
    page = r.json()
    assert r.status_code == 200
    assert len(page["data"]) == 2
    assert page["count"] >= 4  # the three above plus the superuser

    r = client.get(f"{USERS}/", headers=superuser_token_headers, params={"skip": 2, "limit": 2})
    next_page = r.json()
    first_ids = {u["id"] for u in page["data"]}
    assert not first_ids & {u["id"] for u in next_page["data"]}


def test_retrieve_users_count_matches_database(
    client: TestClient, superuser_token_headers: dict[str, str], db: Session
) -> None:
    create_random_user(db)
    r = client.get(f"{USERS}/", headers=superuser_token_headers, params={"limit": 1000})
    assert r.status_code == 200
    body = r.json()
    in_db = db.exec(select(User)).all()
    assert body["count"] == len(in_db)
    assert {u["email"] for u in body["data"]} == {u.email for u in in_db}


def test_retrieve_users_by_normal_user(
    client: TestClient, normal_user_token_headers: dict[str, str]
) -> None:
    r = client.get(f"{USERS}/", headers=normal_user_token_headers)
    assert r.status_code == 403


def test_update_user_me(
    client: TestClient, normal_user_token_headers: dict[str, str], db: Session
) -> None:
    full_name = "Updated Name"
    email = random_email()
    data = {"full_name": full_name, "email": email}
    r = client.patch(f"{USERS}/me", headers=normal_user_token_headers, json=data)
    assert r.status_code == 200
    updated_user = r.json()
    assert updated_user["email"] == email
    assert updated_user["full_name"] == full_name

    user_db = db.exec(select(User).where(User.email == email)).first()
    assert user_db
    assert user_db.email == email
    assert user_db.full_name == full_name

    # Put the address back so the module's other tests still find the test user.
    r = client.patch(
        f"{USERS}/me",
        headers=normal_user_token_headers,
        json={"email": settings.EMAIL_TEST_USER},
    )
    assert r.status_code == 200


def test_update_user_me_email_exists(
    client: TestClient, normal_user_token_headers: dict[str, str], db: Session
) -> None:
    user = create_random_user(db)
    r = client.patch(f"{USERS}/me", headers=normal_user_token_headers, json={"email": user.email})
    assert r.status_code == 409
    assert r.json()["detail"] == "User with this email already exists"


def test_update_password_me(
    client: TestClient, superuser_token_headers: dict[str, str], db: Session
) -> None:
    new_password = random_lower_string()
    data = {
        "current_password": settings.FIRST_SUPERUSER_PASSWORD,
        "new_password": new_password,
    }
    r = client.patch(f"{USERS}/me/password", headers=superuser_token_headers, json=data)
    assert r.status_code == 200
    assert r.json()["message"] == "Password updated successfully"

    user_db = crud.get_user_by_email(session=db, email=settings.FIRST_SUPERUSER)
    assert user_db
    db.refresh(user_db)
    assert verify_password(new_password, user_db.hashed_password)

    # Revert to the old password to keep consistency in the other tests.
    old_password_data = {
        "current_password": new_password,
        "new_password": settings.FIRST_SUPERUSER_PASSWORD,
    }
    r = client.patch(
        f"{USERS}/me/password", headers=superuser_token_headers, json=old_password_data
    )
    db.refresh(user_db)
    assert r.status_code == 200
    assert verify_password(settings.FIRST_SUPERUSER_PASSWORD, user_db.hashed_password)


def test_update_password_me_incorrect_password(
    client: TestClient, superuser_token_headers: dict[str, str]
) -> None:
    new_password = random_lower_string()
    data = {"current_password": new_password, "new_password": new_password}
    r = client.patch(f"{USERS}/me/password", headers=superuser_token_headers, json=data)
    assert r.status_code == 400
    assert r.json()["detail"] == "Incorrect password"


def test_update_password_me_same_password_error(
    client: TestClient, superuser_token_headers: dict[str, str]
) -> None:
    data = {
        "current_password": settings.FIRST_SUPERUSER_PASSWORD,
        "new_password": settings.FIRST_SUPERUSER_PASSWORD,
    }
    r = client.patch(f"{USERS}/me/password", headers=superuser_token_headers, json=data)
    assert r.status_code == 400
    assert r.json()["detail"] == "New password cannot be the same as the current one"


def test_register_user(client: TestClient, db: Session) -> None:
    username = random_email()
    password = random_lower_string()
    full_name = random_lower_string()
    data = {"email": username, "password": password, "full_name": full_name}
    r = client.post(f"{USERS}/signup", json=data)
    assert r.status_code == 200
    created = r.json()
    assert created["email"] == username
    assert created["full_name"] == full_name
    assert created["is_superuser"] is False

    user_db = crud.get_user_by_email(session=db, email=username)
    assert user_db
    assert user_db.full_name == full_name
    assert verify_password(password, user_db.hashed_password)


def test_register_user_already_exists_error(client: TestClient) -> None:
    data = {
        "email": settings.FIRST_SUPERUSER,
        "password": random_lower_string(),
        "full_name": random_lower_string(),
    }
    r = client.post(f"{USERS}/signup", json=data)
    assert r.status_code == 400
    assert r.json()["detail"] == "The user with this email already exists in the system"


def test_register_user_cannot_make_itself_superuser(client: TestClient, db: Session) -> None:
    username = random_email()
    data = {"email": username, "password": random_lower_string(), "is_superuser": True}
    r = client.post(f"{USERS}/signup", json=data)
    assert r.status_code == 200
    assert r.json()["is_superuser"] is False
    user_db = crud.get_user_by_email(session=db, email=username)
    assert user_db
    assert not user_db.is_superuser


def test_update_user(
    client: TestClient, superuser_token_headers: dict[str, str], db: Session
) -> None:
    user = create_random_user(db)
    data = {"full_name": "Updated_full_name"}
    r = client.patch(f"{USERS}/{user.id}", headers=superuser_token_headers, json=data)
    assert r.status_code == 200
    assert r.json()["full_name"] == "Updated_full_name"

    db.refresh(user)
    assert user.full_name == "Updated_full_name"


def test_update_user_not_exists(
    client: TestClient, superuser_token_headers: dict[str, str]
) -> None:
    data = {"full_name": "Updated_full_name"}
    r = client.patch(f"{USERS}/{uuid.uuid4()}", headers=superuser_token_headers, json=data)
    assert r.status_code == 404
    assert r.json()["detail"] == "The user with this id does not exist in the system"


def test_update_user_email_exists(
    client: TestClient, superuser_token_headers: dict[str, str], db: Session
) -> None:
    user = create_random_user(db)
    user2 = create_random_user(db)
    r = client.patch(
        f"{USERS}/{user.id}", headers=superuser_token_headers, json={"email": user2.email}
    )
    assert r.status_code == 409
    assert r.json()["detail"] == "User with this email already exists"


def test_delete_user_me(client: TestClient, db: Session) -> None:
    username = random_email()
    password = random_lower_string()
    user = crud.create_user(session=db, user_create=UserCreate(email=username, password=password))
    user_id = user.id
    headers = user_authentication_headers(client=client, email=username, password=password)

    r = client.delete(f"{USERS}/me", headers=headers)
    assert r.status_code == 200
    assert r.json()["message"] == "User deleted successfully"

    db.expire_all()
    assert db.exec(select(User).where(User.id == user_id)).first() is None


def test_delete_user_me_as_superuser(
    client: TestClient, superuser_token_headers: dict[str, str]
) -> None:
    r = client.delete(f"{USERS}/me", headers=superuser_token_headers)
    assert r.status_code == 403
    assert r.json()["detail"] == "Super users are not allowed to delete themselves"


def test_delete_user_super_user(
    client: TestClient, superuser_token_headers: dict[str, str], db: Session
) -> None:
    user = create_random_user(db)
    user_id = user.id
    r = client.delete(f"{USERS}/{user_id}", headers=superuser_token_headers)
    assert r.status_code == 200
    assert r.json()["message"] == "User deleted successfully"

    db.expire_all()
    assert db.get(User, user_id) is None


def test_delete_user_not_found(client: TestClient, superuser_token_headers: dict[str, str]) -> None:
    r = client.delete(f"{USERS}/{uuid.uuid4()}", headers=superuser_token_headers)
    assert r.status_code == 404
    assert r.json()["detail"] == "User not found"


def test_delete_user_current_super_user_error(
    client: TestClient, superuser_token_headers: dict[str, str], db: Session
) -> None:
    super_user = crud.get_user_by_email(session=db, email=settings.FIRST_SUPERUSER)
    assert super_user
    r = client.delete(f"{USERS}/{super_user.id}", headers=superuser_token_headers)
    assert r.status_code == 403
    assert r.json()["detail"] == "Super users are not allowed to delete themselves"


def test_delete_user_without_privileges(
    client: TestClient, normal_user_token_headers: dict[str, str], db: Session
) -> None:
    user = create_random_user(db)
    r = client.delete(f"{USERS}/{user.id}", headers=normal_user_token_headers)
    assert r.status_code == 403
    assert r.json()["detail"] == "The user doesn't have enough privileges"
