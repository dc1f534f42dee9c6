"""OAuth2 (SASL XOAUTH2) against real servers, offline: a Dovecot whose oauth2 passdb
validates HS256 JWTs locally and an SMTP server that takes XOAUTH2 (and answers a bad
token with the error challenge, as Gmail and Exchange do). The token comes from the
site's `token_command`; no password is configured or needed.

Not yet here (issue 14 goes on): tokens from MSAL (client credentials, device code)
and Google, `inbox-bot login`, the token cache."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fakes import registration
from helpers import PASSWORD_ENV, write_config
from servers import Dovecot, SmtpSink

pytestmark = pytest.mark.integration

SECRET = b"a-local-signing-key-for-tests-32"
SIGNER = Path(__file__).with_name("jwt_hs256.py")
T0 = datetime(2018, 11, 6, 9, 0, tzinfo=UTC)


def _oauth_config(root: Path) -> str:
    """Dovecot 2.3: an oauth2 passdb with local validation of HS256 tokens."""
    keys = root / "keys" / "default" / "HS256"
    keys.mkdir(parents=True)
    (keys / "default").write_text(base64.b64encode(SECRET).decode(), encoding="ascii")
    ext = root / "oauth2.conf.ext"
    ext.write_text(
        "introspection_mode = local\n"
        f"local_validation_key_dict = fs:posix:prefix={root}/keys/\n"
        "username_attribute = email\n",
        encoding="utf-8",
    )
    for path in [root, *root.rglob("*")]:  # Dovecot's auth process reads them
        path.chmod(0o755 if path.is_dir() else 0o644)
    return (
        "\nauth_mechanisms = plain login xoauth2 oauthbearer\n"
        f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {ext}\n}}\n"
    )


@pytest.fixture
def oauth_servers() -> Iterator[tuple[Dovecot, SmtpSink]]:
    # Its own Dovecot per test: refused logins make Dovecot slow down the next ones.
    root = Path(tempfile.mkdtemp(prefix="inbox-bot-oauth-"))
    with (
        Dovecot(extra_config=_oauth_config(root)) as imap,
        SmtpSink(oauth_key=SECRET, auth_in_clear=True) as smtp,
    ):
        yield imap, smtp


def _config(tmp_path: Path, imap: Dovecot, smtp: SmtpSink, seconds: int) -> Path:
    config = write_config(tmp_path, imap, smtp)
    command = [sys.executable, str(SIGNER), base64.b64encode(SECRET).decode(), imap.user]
    token = ", ".join(f'"{part}"' for part in [*command, str(seconds)])
    text = config.read_text(encoding="utf-8")
    text = text.replace(
        f'password_env = "{PASSWORD_ENV}"\n',
        f'auth = "oauth2"\ntoken_command = [{token}]\n',
    )
    text = text.replace(
        'security = "none"\nfrom_address',
        f'security = "none"\nusername = "{imap.user}"\nauth = "oauth2"\n'
        f"token_command = [{token}]\nfrom_address",
    )
    config.write_text(text, encoding="utf-8")
    return config


def _poll(config: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if "PASSWORD" not in k}  # none is needed
    return subprocess.run(
        [sys.executable, "-m", "inbox_bot", "poll", "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_a_mailbox_that_takes_only_oauth_is_polled_and_answered(
    tmp_path: Path, oauth_servers: tuple[Dovecot, SmtpSink]
) -> None:
    imap, smtp = oauth_servers
    imap.append(registration("vera.voss@stadt-hamm.de", "Vera Voss"), T0)
    config = _config(tmp_path, imap, smtp, seconds=300)
    assert "password" not in config.read_text(encoding="utf-8")
    result = _poll(config)
    assert result.returncode == 0, result.stderr
    assert [m.rcpt_tos for m in smtp.messages] == [("vera.voss@stadt-hamm.de",)]
    assert smtp._handler.auth_attempts == [imap.user]  # XOAUTH2, for the mailbox
    said = result.stdout + result.stderr
    assert "eyJ" not in said  # no JWT (base64 JSON) in any output
    assert "Bearer" not in said


def test_an_expired_token_gets_one_clear_line_and_no_traceback(
    tmp_path: Path, oauth_servers: tuple[Dovecot, SmtpSink]
) -> None:
    imap, smtp = oauth_servers
    imap.append(registration("vera.voss@stadt-hamm.de", "Vera Voss"), T0)
    result = _poll(_config(tmp_path, imap, smtp, seconds=-60))
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "token refused" in lines[0] and imap.user in lines[0] and "token_command" in lines[0]
    assert "Traceback" not in result.stderr and "Bearer" not in result.stderr
    assert smtp.messages == []


def test_a_token_command_that_fails_names_the_account_and_what_to_run(
    tmp_path: Path, oauth_servers: tuple[Dovecot, SmtpSink]
) -> None:
    imap, smtp = oauth_servers
    config = _config(tmp_path, imap, smtp, seconds=300)
    text = config.read_text(encoding="utf-8").replace(str(SIGNER), "/nonexistent/get-token")
    config.write_text(text, encoding="utf-8")
    result = _poll(config)
    assert result.returncode != 0
    assert "token_command" in result.stderr and imap.user in result.stderr
    assert "Traceback" not in result.stderr


def test_oauth2_and_a_password_together_is_a_config_error(
    tmp_path: Path, oauth_servers: tuple[Dovecot, SmtpSink]
) -> None:
    imap, smtp = oauth_servers
    config = _config(tmp_path, imap, smtp, seconds=300)
    text = config.read_text(encoding="utf-8").replace(
        'auth = "oauth2"\n', 'auth = "oauth2"\npassword_env = "X"\n', 1
    )
    config.write_text(text, encoding="utf-8")
    result = _poll(config)
    assert result.returncode == 2
    assert "oauth2 takes no password" in result.stderr


def test_a_refused_smtp_token_is_answered_with_an_empty_line_and_the_reply_waits(
    tmp_path: Path,
) -> None:
    # The SMTP server trusts another key: it sends the error challenge; the client must
    # answer it with an empty line (smtplib would otherwise loop), then gets 535.
    root = Path(tempfile.mkdtemp(prefix="inbox-bot-oauth-"))
    with (
        Dovecot(extra_config=_oauth_config(root)) as imap,
        SmtpSink(oauth_key=b"another-key-another-key-another!", auth_in_clear=True) as smtp,
    ):
        imap.append(registration("vera.voss@stadt-hamm.de", "Vera Voss"), T0)
        result = _poll(_config(tmp_path, imap, smtp, seconds=300))
        assert result.returncode == 1, result.stderr
        assert "OAuth2 token refused" in result.stderr and "535" in result.stderr
        assert "Traceback" not in result.stderr
        assert smtp.messages == []
        assert smtp._handler.auth_attempts == [imap.user]  # once, not five times


def test_oauthbearer_where_offered_and_xoauth2_where_only_that_is(
    tmp_path: Path,
) -> None:
    root = Path(tempfile.mkdtemp(prefix="inbox-bot-oauth-"))
    with (
        Dovecot(extra_config=_oauth_config(root)) as imap,  # offers both
        SmtpSink(oauth_key=SECRET, auth_in_clear=True, oauthbearer=True) as gmail_like,
        SmtpSink(oauth_key=SECRET, auth_in_clear=True) as exchange_like,
    ):
        for number, smtp in enumerate((gmail_like, exchange_like)):
            imap.append(registration(f"p{number}@stadt-hamm.de", f"Paula Nummer{number}"), T0)
            folder = tmp_path / f"run{number}"
            folder.mkdir()
            result = _poll(_config(folder, imap, smtp, seconds=300))
            assert result.returncode == 0, result.stderr
            assert smtp.messages  # answered (the second state folder answers both mails)
        assert gmail_like._handler.mechanisms == ["OAUTHBEARER"]
        assert exchange_like._handler.mechanisms == ["XOAUTH2"]
        assert "method=OAUTHBEARER" in imap.log.read_text(encoding="utf-8", errors="replace")
