from fastapi.encoders import jsonable_encoder
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlmodel import Session

from app import crud
from app.core.config import settings
from app.core.db import init_db
from app.core.security import verify_password
from app.models import User, UserCreate, UserUpdate
from tests.utils.utils import random_email, random_lower_string


def test_create_user(db: Session) -> None:
    email = random_email()
    password = random_lower_string()
    user = crud.create_user(session=db, user_create=UserCreate(email=email, password=password))
    assert user.email == email
    assert hasattr(user, "hashed_password")
    assert user.hashed_password != password
    assert Argon2Hasher.identify(user.hashed_password)


def test_authenticate_user(db: Session) -> None:
    email = random_email()
    password = random_lower_string()
    user = crud.create_user(session=db, user_create=UserCreate(email=email, password=password))
    authenticated_user = crud.authenticate(session=db, email=email, password=password)
    assert authenticated_user
    assert user.email == authenticated_user.email


def test_not_authenticate_user(db: Session) -> None:
    user = crud.authenticate(session=db, email=random_email(), password=random_lower_string())
    assert user is None


def test_authenticate_wrong_password(db: Session) -> None:
    email = random_email()
    crud.create_user(
        session=db, user_create=UserCreate(email=email, password=random_lower_string())
    )
    assert crud.authenticate(session=db, email=email, password=random_lower_string()) is None


def test_check_if_user_is_active(db: Session) -> None:
    user_in = UserCreate(email=random_email(), password=random_lower_string())
    user = crud.create_user(session=db, user_create=user_in)
    assert user.is_active is True


def test_check_if_user_is_superuser(db: Session) -> None:
    user_in = UserCreate(email=random_email(), password=random_lower_string(), is_superuser=True)
    user = crud.create_user(session=db, user_create=user_in)
    assert user.is_superuser is True


def test_get_user(db: Session) -> None:
    user_in = UserCreate(email=random_email(), password=random_lower_string(), is_superuser=True)
    user = crud.create_user(session=db, user_create=user_in)
    user_2 = db.get(User, user.id)
    assert user_2
    assert user.email == user_2.email
    assert jsonable_encoder(user) == jsonable_encoder(user_2)


def test_get_user_by_email(db: Session) -> None:
    email = random_email()
    crud.create_user(
        session=db, user_create=UserCreate(email=email, password=random_lower_string())
    )
    found = crud.get_user_by_email(session=db, email=email)
    assert found
    assert found.email == email
    assert crud.get_user_by_email(session=db, email=random_email()) is None


def test_update_user(db: Session) -> None:
    user_in = UserCreate(email=random_email(), password=random_lower_string(), is_superuser=True)
    user = crud.create_user(session=db, user_create=user_in)
    new_password = random_lower_string()
    user_in_update = UserUpdate(password=new_password, is_superuser=True)
    crud.update_user(session=db, db_user=user, user_in=user_in_update)
    user_2 = db.get(User, user.id)
    assert user_2
    assert user.email == user_2.email
    assert verify_password(new_password, user_2.hashed_password)


def test_update_user_leaves_unset_fields_alone(db: Session) -> None:
    user_in = UserCreate(email=random_email(), password=random_lower_string(), full_name="Ann")
    user = crud.create_user(session=db, user_create=user_in)
    old_hash = user.hashed_password
    crud.update_user(session=db, db_user=user, user_in=UserUpdate(is_active=False))
    db.refresh(user)
    assert user.full_name == "Ann"
    assert user.is_active is False
    assert user.hashed_password == old_hash


def test_init_db_is_idempotent(db: Session) -> None:
    init_db(db)
    init_db(db)
    superuser = crud.get_user_by_email(session=db, email=settings.FIRST_SUPERUSER)
    assert superuser
    assert superuser.is_superuser
