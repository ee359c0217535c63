from fastapi.testclient import TestClient
from sqlmodel import Session

from app import crud
from app.core.config import settings
from app.core.security import verify_password
from app.models import UserCreate, UserUpdate
from tests.utils.user import create_random_user, user_authentication_headers
from tests.utils.utils import random_email, random_lower_string


def test_get_access_token(client: TestClient) -> None:
    login_data = {
        "username": settings.FIRST_SUPERUSER,
        "password": settings.FIRST_SUPERUSER_PASSWORD,
    }
    r = client.post(f"{settings.API_V1_STR}/login/access-token", data=login_data)
    tokens = r.json()
    assert r.status_code == 200
    assert "access_token" in tokens
    assert tokens["access_token"]
    assert tokens["token_type"] == "bearer"


def test_get_access_token_incorrect_password(client: TestClient) -> None:
    login_data = {"username": settings.FIRST_SUPERUSER, "password": "incorrect"}
    r = client.post(f"{settings.API_V1_STR}/login/access-token", data=login_data)
    assert r.status_code == 400
    assert r.json()["detail"] == "Incorrect email or password"


def test_get_access_token_inactive_user(client: TestClient, db: Session) -> None:
    email = random_email()
    password = random_lower_string()
    crud.create_user(
        session=db, user_create=UserCreate(email=email, password=password, is_active=False)
    )
    r = client.post(
        f"{settings.API_V1_STR}/login/access-token",
        data={"username": email, "password": password},
    )
    assert r.status_code == 400
    assert r.json()["detail"] == "Inactive user"


def test_use_access_token(client: TestClient, superuser_token_headers: dict[str, str]) -> None:
    r = client.post(f"{settings.API_V1_STR}/login/test-token", headers=superuser_token_headers)
    result = r.json()
    assert r.status_code == 200
    assert result["email"] == settings.FIRST_SUPERUSER
    assert result["is_superuser"] is True


def test_use_access_token_normal_user(
    client: TestClient, normal_user_token_headers: dict[str, str]
) -> None:
    r = client.post(f"{settings.API_V1_STR}/login/test-token", headers=normal_user_token_headers)
    assert r.status_code == 200
    assert r.json()["email"] == settings.EMAIL_TEST_USER
    assert r.json()["is_superuser"] is False


def test_test_token_without_token(client: TestClient) -> None:
    r = client.post(f"{settings.API_V1_STR}/login/test-token")
    assert r.status_code == 401


def test_test_token_with_garbage_token(client: TestClient) -> None:
    r = client.post(
        f"{settings.API_V1_STR}/login/test-token",
        headers={"Authorization": "Bearer not-a-jwt"},
    )
    assert r.status_code == 403
    assert r.json()["detail"] == "Could not validate credentials"


def test_token_of_deactivated_user_is_refused(client: TestClient, db: Session) -> None:
    email = random_email()
    password = random_lower_string()
    user = crud.create_user(session=db, user_create=UserCreate(email=email, password=password))
    headers = user_authentication_headers(client=client, email=email, password=password)

    crud.update_user(session=db, db_user=user, user_in=UserUpdate(is_active=False))

    r = client.post(f"{settings.API_V1_STR}/login/test-token", headers=headers)
    assert r.status_code == 400
    assert r.json()["detail"] == "Inactive user"


def test_token_of_deleted_user_is_refused(client: TestClient, db: Session) -> None:
    email = random_email()
    password = random_lower_string()
    user = crud.create_user(session=db, user_create=UserCreate(email=email, password=password))
    headers = user_authentication_headers(client=client, email=email, password=password)

    db.delete(user)
    db.commit()

    r = client.post(f"{settings.API_V1_STR}/login/test-token", headers=headers)
    assert r.status_code == 404


def test_login_after_password_change(client: TestClient, db: Session) -> None:
    user = create_random_user(db)
    new_password = random_lower_string()
    crud.update_user(session=db, db_user=user, user_in=UserUpdate(password=new_password))
    db.refresh(user)
    assert verify_password(new_password, user.hashed_password)

    r = client.post(
        f"{settings.API_V1_STR}/login/access-token",
        data={"username": user.email, "password": new_password},
    )
    assert r.status_code == 200
