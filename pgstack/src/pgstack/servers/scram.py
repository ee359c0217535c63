"""The SCRAM-SHA-256 verifier pgstack gives an embedded server's superuser.

PostgreSQL stores ``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`` (RFC 5802,
RFC 7677), and every login runs PBKDF2 that many times on both ends. The default 4096
iterations cost ~4 ms per connection here, which a suite that connects per test
(``fresh_database``, each worker's pools) pays thousands of times. Iterations only slow
down guessing a *weak* password from a stolen verifier; ours is a fresh random 192-bit
one per cluster, which no number of guesses reaches, and the verifier never leaves the
cluster's private folder. So a low count keeps the protection and drops the cost.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

ITERATIONS = 32


def verifier(password: str) -> str:
    """The verifier to send as ``ALTER ROLE … PASSWORD``: the password itself never
    reaches the server (nor its log)."""
    salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, ITERATIONS)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    server_key = hmac.digest(salted, b"Server Key", "sha256")
    stored_key = hashlib.sha256(client_key).digest()
    return f"SCRAM-SHA-256${ITERATIONS}:{_b64(salt)}${_b64(stored_key)}:{_b64(server_key)}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
