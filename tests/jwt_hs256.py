"""HS256 JWTs for the OAuth2 tests, signed and checked with the standard library only:
what an identity provider issues and what Dovecot's oauth2 passdb (local validation)
and the test SMTP server accept. Also a token command: `python jwt_hs256.py SECRET_B64
USER SECONDS` prints a token for USER valid SECONDS from now (negative: expired)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
import time


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign(secret: bytes, user: str, seconds: int) -> str:
    head = _b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
    now = int(time.time())
    claims = {"sub": user, "email": user, "iat": now - 5, "nbf": now - 5, "exp": now + seconds}
    body = _b64(json.dumps(claims).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"


def valid_for(token: str, secret: bytes) -> str | None:
    """The user a good, unexpired token is for; None otherwise."""
    try:
        head, body, mac = token.split(".")
        want = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(_b64(want), mac):
            return None
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, json.JSONDecodeError):
        return None
    return str(claims["email"]) if claims.get("exp", 0) > time.time() else None


if __name__ == "__main__":
    key, who, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print(sign(base64.b64decode(key), who, seconds))
