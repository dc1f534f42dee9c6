"""A small OAuth2/OIDC identity provider on loopback HTTPS (a trustme CA), for the MSAL
tests: OpenID discovery, the token endpoint (client credentials, device code, refresh
token) and the device-code endpoint. Its access tokens are HS256 JWTs for the mailbox
that the test Dovecot and SMTP server validate (tests/jwt_hs256.py). Everything it was
asked is kept in `grants`, so a test sees which flow MSAL really used."""

from __future__ import annotations

import base64
import json
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import trustme
from cryptography import x509
from jwt_hs256 import sign

TENANT = "contoso"


class FakeIdP:
    def __init__(self, folder: Path, secret: bytes, mailbox: str, *, lifetime: int = 3600):
        self.secret, self.mailbox, self.lifetime = secret, mailbox, lifetime
        self.client_secret = "app-secret-for-tests"
        # The app registration's uploaded certificate (PEM): MSAL's signed assertion for it
        # is checked against its public key.
        self.app_certificate: bytes | None = None
        self.assertions_checked = 0
        self.grants: list[str] = []
        self.pending = 1  # device code: "authorization_pending" this many times first
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_file = folder / "idp-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(context)
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                if self.path.endswith("/.well-known/openid-configuration"):
                    self._json(200, idp.discovery())
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                code, body = idp.answer(self.path, form)
                self._json(code, body)

            def _json(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.base = f"https://127.0.0.1:{self.server.server_address[1]}/{TENANT}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeIdP:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.base,
            "token_endpoint": f"{self.base}/token",
            "authorization_endpoint": f"{self.base}/authorize",
            "device_authorization_endpoint": f"{self.base}/devicecode",
        }

    def answer(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if path.endswith("/devicecode"):
            return 200, {
                "device_code": "dev-123",
                "user_code": "ABCD-EFGH",
                "verification_uri": "https://microsoft.com/devicelogin",
                "expires_in": 600,
                "interval": 1,
                "message": "To sign in, open https://microsoft.com/devicelogin, code ABCD-EFGH.",
            }
        grant = form.get("grant_type", "")
        self.grants.append(grant)
        if grant == "client_credentials":
            if not (self._assertion_ok(form) or form.get("client_secret") == self.client_secret):
                return 401, {"error": "invalid_client", "error_description": "bad secret"}
            return 200, self._tokens(refresh=False)
        if grant.endswith("device_code"):
            if self.pending > 0:
                self.pending -= 1
                return 400, {"error": "authorization_pending"}
            return 200, self._tokens(refresh=True)
        if grant == "refresh_token":
            return 200, self._tokens(refresh=True)
        return 400, {"error": "unsupported_grant_type"}

    def _assertion_ok(self, form: dict[str, str]) -> bool:
        assertion = form.get("client_assertion")
        if not assertion or self.app_certificate is None:
            return False
        public = x509.load_pem_x509_certificate(self.app_certificate).public_key()
        try:
            claims = jwt.decode(
                assertion, public, algorithms=["PS256", "RS256"], options={"verify_aud": False}
            )
        except jwt.InvalidTokenError:
            return False
        self.assertions_checked += 1
        return bool(claims.get("iss") == claims.get("sub") == "client-for-tests")

    def _tokens(self, *, refresh: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": sign(self.secret, self.mailbox, self.lifetime),
            "expires_in": self.lifetime,
            "ext_expires_in": self.lifetime,
        }
        if refresh:
            body["refresh_token"] = f"refresh-{time.monotonic_ns()}"
            body["id_token"] = _id_token(self.base, self.mailbox)
            body["client_info"] = _b64(json.dumps({"uid": "u1", "utid": TENANT}))
            body["scope"] = (
                "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send"
            )
        return body


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def _id_token(issuer: str, user: str) -> str:
    """An unsigned-looking id_token (MSAL reads its claims, it does not verify it here)."""
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": "client-for-tests",
        "sub": "u1",
        "oid": "u1",
        "tid": TENANT,
        "preferred_username": user,
        "iat": now,
        "exp": now + 3600,
    }
    return f"{_b64(json.dumps({'alg': 'none'}))}.{_b64(json.dumps(claims))}.sig"
