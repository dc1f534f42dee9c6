"""OAuth2 tokens from MSAL, offline and for real: MSAL talks to a loopback HTTPS
identity provider (tests/fake_idp.py) whose JWTs the test Dovecot (oauth2 passdb,
local validation) and SMTP server accept. Client credentials for an unattended worker;
the device-code flow after one `inbox-bot login`, then silent refreshes from a 0600
cache; a cache others may read is refused."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from fake_idp import FakeIdP
from fakes import registration
from helpers import PASSWORD_ENV, write_config
from servers import Dovecot, SmtpSink
from test_oauth2 import SECRET, T0, _oauth_config

pytestmark = pytest.mark.integration
SECRET_ENV = "INBOX_BOT_TEST_CLIENT_SECRET"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Dovecot, SmtpSink, FakeIdP]]:
    root = Path(tempfile.mkdtemp(prefix="inbox-bot-oauth-"))
    with (
        Dovecot(extra_config=_oauth_config(root)) as imap,
        SmtpSink(oauth_key=SECRET, auth_in_clear=True) as smtp,
        FakeIdP(tmp_path, SECRET, imap.user) as idp,
    ):
        yield imap, smtp, idp


def _config(tmp_path: Path, imap: Dovecot, smtp: SmtpSink, idp: FakeIdP, flow: str) -> Path:
    config = write_config(tmp_path, imap, smtp)
    secret = f'client_secret_env = "{SECRET_ENV}"\n' if flow == "client_credentials" else ""
    table = (
        f'flow = "{flow}"\ntenant = "contoso"\nclient_id = "client-for-tests"\n{secret}'
        f'authority = "{idp.base}"\nca_file = "{idp.ca_file}"\n'
        'token_cache = "state/oauth2-token-cache.json"\n'
    )
    text = config.read_text(encoding="utf-8")
    text = text.replace(f'password_env = "{PASSWORD_ENV}"\n', 'auth = "oauth2"\n')
    text = text.replace("batch_size = 7\n", f"batch_size = 7\n\n[imap.oauth2]\n{table}")
    text = text.replace(
        'message_id_domain = "smartcity.dortmund.de"\n',
        f'message_id_domain = "smartcity.dortmund.de"\nusername = "{imap.user}"\n'
        f'auth = "oauth2"\n\n[smtp.oauth2]\n{table}',
    )
    config.write_text(text, encoding="utf-8")
    return config


def _cli(*args: str, secret: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if "PASSWORD" not in k}
    env.pop("REQUESTS_CA_BUNDLE", None)
    env.pop("CURL_CA_BUNDLE", None)
    if secret is not None:
        env[SECRET_ENV] = secret
    return subprocess.run(
        [sys.executable, "-m", "inbox_bot", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_client_credentials_poll_and_answer_an_oauth_only_mailbox(
    tmp_path: Path, world: tuple[Dovecot, SmtpSink, FakeIdP]
) -> None:
    imap, smtp, idp = world
    imap.append(registration("vera.voss@stadt-hamm.de", "Vera Voss"), T0)
    config = _config(tmp_path, imap, smtp, idp, "client_credentials")
    result = _cli("poll", "--config", str(config), secret=idp.client_secret)
    assert result.returncode == 0, result.stderr
    assert [m.rcpt_tos for m in smtp.messages] == [("vera.voss@stadt-hamm.de",)]
    assert set(idp.grants) == {"client_credentials"}
    assert len(idp.grants) == 1  # one token for IMAP and SMTP: MSAL kept it
    said = result.stdout + result.stderr
    assert "eyJ" not in said and idp.client_secret not in said


def test_a_wrong_client_secret_gets_one_clear_line(
    tmp_path: Path, world: tuple[Dovecot, SmtpSink, FakeIdP]
) -> None:
    imap, smtp, idp = world
    config = _config(tmp_path, imap, smtp, idp, "client_credentials")
    result = _cli("poll", "--config", str(config), secret="wrong")
    assert result.returncode != 0
    assert "invalid_client" in result.stderr and imap.user in result.stderr
    assert "Traceback" not in result.stderr and "wrong" not in result.stderr


def test_device_code_login_once_then_the_worker_refreshes_silently(
    tmp_path: Path, world: tuple[Dovecot, SmtpSink, FakeIdP]
) -> None:
    imap, smtp, idp = world
    config = _config(tmp_path, imap, smtp, idp, "device_code")
    before = _cli("poll", "--config", str(config))
    assert before.returncode != 0 and "inbox-bot login" in before.stderr
    login = _cli("login", "--config", str(config))
    assert login.returncode == 0, login.stderr
    assert "ABCD-EFGH" in login.stdout and "devicelogin" in login.stdout
    cache = tmp_path / "state" / "oauth2-token-cache.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert "eyJ" not in login.stdout + login.stderr
    imap.append(registration("vera.voss@stadt-hamm.de", "Vera Voss"), T0)
    result = _cli("poll", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert [m.rcpt_tos for m in smtp.messages] == [("vera.voss@stadt-hamm.de",)]
    assert idp.grants[-1].endswith("device_code")  # the cached token served the poll
    status = _cli("status", "--config", str(config))
    assert "OAuth2, Token bis" in status.stdout and imap.user in status.stdout


def test_an_access_token_about_to_expire_is_refreshed_from_the_cache(
    tmp_path: Path, world: tuple[Dovecot, SmtpSink, FakeIdP]
) -> None:
    imap, smtp, idp = world
    idp.lifetime = 120  # MSAL renews what runs out within 5 minutes
    config = _config(tmp_path, imap, smtp, idp, "device_code")
    assert _cli("login", "--config", str(config)).returncode == 0
    imap.append(registration("vera.voss@stadt-hamm.de", "Vera Voss"), T0)
    result = _cli("poll", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "refresh_token" in idp.grants
    assert len(smtp.messages) == 1


def test_a_token_cache_others_may_read_is_refused(
    tmp_path: Path, world: tuple[Dovecot, SmtpSink, FakeIdP]
) -> None:
    imap, smtp, idp = world
    config = _config(tmp_path, imap, smtp, idp, "device_code")
    assert _cli("login", "--config", str(config)).returncode == 0
    cache = tmp_path / "state" / "oauth2-token-cache.json"
    cache.chmod(0o644)
    result = _cli("poll", "--config", str(config))
    assert result.returncode != 0
    assert "readable by others" in result.stderr and "Traceback" not in result.stderr


def _google_config(tmp_path: Path, imap: Dovecot, smtp: SmtpSink, idp: FakeIdP) -> Path:
    credentials = tmp_path / "google-authorized-user.json"
    credentials.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": "client-for-tests",
                "client_secret": "installed-app-secret",
                "refresh_token": "refresh-from-consent",
                "token_uri": f"{idp.base}/token",
            }
        ),
        encoding="utf-8",
    )
    credentials.chmod(0o600)
    config = _config(tmp_path, imap, smtp, idp, "client_credentials")
    table = (
        f'provider = "google"\ncredentials_file = "{credentials}"\n'
        f'ca_file = "{idp.ca_file}"\ntoken_uri = "{idp.base}/token"\n'
    )
    text = config.read_text(encoding="utf-8")
    start = text.index("[imap.oauth2]\n") + len("[imap.oauth2]\n")
    end = text.index("\n[smtp]")
    text = text[:start] + table + text[end:]
    start = text.index("[smtp.oauth2]\n") + len("[smtp.oauth2]\n")
    end = text.index("\n[event]")
    text = text[:start] + table + text[end:]
    config.write_text(text, encoding="utf-8")
    return config


def test_gmail_with_google_auth_renews_from_the_authorized_user_file(
    tmp_path: Path, world: tuple[Dovecot, SmtpSink, FakeIdP]
) -> None:
    imap, smtp, idp = world
    imap.append(registration("vera.voss@stadt-hamm.de", "Vera Voss"), T0)
    config = _google_config(tmp_path, imap, smtp, idp)
    result = _cli("poll", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert [m.rcpt_tos for m in smtp.messages] == [("vera.voss@stadt-hamm.de",)]
    assert idp.grants == ["refresh_token"]  # one renewal served IMAP and SMTP
    assert "eyJ" not in result.stdout + result.stderr
    (tmp_path / "google-authorized-user.json").chmod(0o644)
    refused = _cli("poll", "--config", str(config))
    assert refused.returncode != 0 and "readable by others" in refused.stderr


def test_client_credentials_with_a_certificate_instead_of_a_secret(
    tmp_path: Path, world: tuple[Dovecot, SmtpSink, FakeIdP]
) -> None:
    imap, smtp, idp = world
    # Entra takes RSA certificates; an EC key gets one clear line (the test below).
    leaf = trustme.CA(key_type=trustme.KeyType.RSA).issue_cert(
        "inbox-bot-app.example", key_type=trustme.KeyType.RSA
    )
    pem = tmp_path / "app-certificate.pem"
    pem.write_bytes(leaf.private_key_pem.bytes() + leaf.cert_chain_pems[0].bytes())
    pem.chmod(0o600)
    idp.app_certificate = leaf.cert_chain_pems[0].bytes()
    config = _config(tmp_path, imap, smtp, idp, "client_credentials")
    text = config.read_text(encoding="utf-8").replace(
        f'client_secret_env = "{SECRET_ENV}"', f'client_certificate_file = "{pem}"'
    )
    config.write_text(text, encoding="utf-8")
    imap.append(registration("vera.voss@stadt-hamm.de", "Vera Voss"), T0)
    result = _cli("poll", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert idp.assertions_checked == 1 and len(smtp.messages) == 1
    assert "PRIVATE KEY" not in result.stdout + result.stderr


def test_a_certificate_msal_cannot_use_gets_one_clear_line(
    tmp_path: Path, world: tuple[Dovecot, SmtpSink, FakeIdP]
) -> None:
    imap, smtp, idp = world
    leaf = trustme.CA(key_type=trustme.KeyType.ECDSA).issue_cert("inbox-bot-app.example")
    pem = tmp_path / "app-certificate.pem"
    pem.write_bytes(leaf.private_key_pem.bytes() + leaf.cert_chain_pems[0].bytes())
    pem.chmod(0o600)
    config = _config(tmp_path, imap, smtp, idp, "client_credentials")
    text = config.read_text(encoding="utf-8").replace(
        f'client_secret_env = "{SECRET_ENV}"', f'client_certificate_file = "{pem}"'
    )
    config.write_text(text, encoding="utf-8")
    result = _cli("poll", "--config", str(config))
    assert result.returncode == 1
    assert "cannot get a token" in result.stderr and "internal error" not in result.stderr
    assert "PRIVATE KEY" not in result.stderr
