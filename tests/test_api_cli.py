"""`flowwright users` / `keys`: create, list and revoke through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import app as cli
from app.services import auth as svc


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("FLOWWRIGHT_DATABASE_URL", url)
    return url


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, list(args), input=stdin)


def test_users_and_keys_lifecycle(db: str) -> None:
    created = run("users", "create", "ada", "--scopes", "read,generate", "--password-stdin",
                  stdin="s3cret-password\n")  # fmt: skip
    assert created.exit_code == 0, created.output
    assert "scopes: generate read" in created.output
    assert svc.authenticate_password(db, "ada", "s3cret-password") is not None

    duplicate = run("users", "create", "ada", "--password-stdin", stdin="another-password\n")
    assert duplicate.exit_code == 2 and "error[USER_EXISTS]" in duplicate.output

    key = run("keys", "create", "--user", "ada", "--scopes", "read", "--name", "ci", "--json")
    assert key.exit_code == 0, key.output
    made = json.loads(key.stdout)
    assert made["key"].startswith("fw_") and made["scopes"] == ["read"]
    assert svc.authenticate_api_key(db, made["key"]) is not None

    listed = json.loads(run("keys", "list", "--user", "ada", "--json").stdout)
    assert [k["id"] for k in listed] == [made["id"]] and not listed[0]["revoked"]
    assert made["key"] not in run("keys", "list").stdout  # secrets are never shown again

    assert run("keys", "revoke", made["id"]).exit_code == 0
    assert svc.authenticate_api_key(db, made["key"]) is None
    again = run("keys", "revoke", made["id"])
    assert again.exit_code == 2 and "KEY_UNKNOWN" in again.output


def test_key_scopes_cannot_exceed_the_users(db: str) -> None:
    assert run("users", "create", "bob", "--no-password", "--scopes", "read").exit_code == 0
    result = run("keys", "create", "--user", "bob", "--scopes", "admin")
    assert result.exit_code == 2 and "SCOPE_NOT_ALLOWED" in result.output
    unknown = run("users", "create", "cy", "--no-password", "--scopes", "root")
    assert unknown.exit_code == 2 and "SCOPE_UNKNOWN" in unknown.output
    missing = run("keys", "create", "--user", "nobody")
    assert missing.exit_code == 2 and "USER_UNKNOWN" in missing.output


def test_admin_gets_every_scope(db: str) -> None:
    result = run("users", "create", "root", "--admin", "--password-stdin", stdin="long-password\n")
    assert result.exit_code == 0
    assert svc.get_user(db, "root").scopes == svc.SCOPES
