import pytest
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

pytestmark = pytest.mark.django_db


def test_create_user_normalises_email(django_user_model):
    user = django_user_model.objects.create_user(email="  Carol.Smith@EXAMPLE.Com ")
    assert user.email == "carol.smith@example.com"


def test_create_user_hashes_password_and_has_no_privileges(django_user_model, password):
    user = django_user_model.objects.create_user(email="dave@example.com", password=password)
    assert user.password != password
    assert user.check_password(password)
    assert not user.is_staff
    assert not user.is_superuser
    assert user.is_active
    without = django_user_model.objects.create_user(email="nopass@example.com")
    assert not without.has_usable_password()


def test_create_user_requires_a_valid_email(django_user_model):
    with pytest.raises(ValueError, match="e-mail"):
        django_user_model.objects.create_user(email="", password="x")
    with pytest.raises(ValidationError):
        django_user_model.objects.create_user(email="not-an-address")
    assert not django_user_model.objects.exists()


def test_create_superuser(django_user_model):
    admin = django_user_model.objects.create_superuser(email="Root@Example.com", password="s3cret")
    assert admin.is_staff
    assert admin.is_superuser
    assert admin.email == "root@example.com"
    for flag in ("is_staff", "is_superuser"):
        with pytest.raises(ValueError, match=flag):
            django_user_model.objects.create_superuser(email="x@example.com", **{flag: False})


def test_email_is_unique_whatever_the_case(django_user_model, user):
    with pytest.raises(IntegrityError), transaction.atomic():
        django_user_model.objects.create_user(email=user.email.upper())
    assert django_user_model.objects.filter(email__iexact=user.email).count() == 1


def test_case_insensitive_constraint_holds_without_the_manager(django_user_model, user):
    # Bypasses normalize_email: only the functional unique index on lower(email) stops it.
    with (
        pytest.raises(IntegrityError, match="accounts_user_email_ci_unique"),
        transaction.atomic(),
    ):
        django_user_model(email="ALICE@example.com").save()


def test_authenticate_by_email_ignores_case(user, password):
    assert authenticate(email="Alice@Example.COM", password=password) == user
    assert authenticate(email=user.email, password="wrong") is None


def test_str_prefers_display_name(user, other_user):
    assert str(user) == "Alice"
    assert str(other_user) == "bob@example.com"
    assert other_user.get_short_name() == "bob"
