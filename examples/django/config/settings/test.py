"""Settings for the test suite (pytest's DJANGO_SETTINGS_MODULE): the base settings, faster.

pgstack sets DATABASE_URL to each test process's own clone before these are imported; the
analytics alias gets a clone of its own from pgstack, whatever ANALYTICS_DATABASE_URL says.
"""

from .base import *  # noqa: F403

# The default PBKDF2 hasher costs ~0.3 s per user; the suite creates many users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
