"""`flowwright users ...` and `flowwright keys ...`: manage API users and keys.

Only typer is imported at module level (the CLI's start-up budget); the service, argon2 and
SQLAlchemy load when a command runs. An API key is printed once, at creation: only its hash is
stored.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

users_app = typer.Typer(help="Manage API users.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)

ScopesOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--scopes", "-s", help="Scope (generate, run, read, admin); repeatable or comma-separated."
    ),
]


def _scopes(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [s.strip() for v in values for s in v.split(",") if s.strip()]


def _db_url() -> str:
    from app.api.settings import ApiSettings

    return ApiSettings().resolved_database_url


@users_app.command("create")
def users_create(
    name: Annotated[str, typer.Argument(help="User name (no spaces).")],
    admin: Annotated[bool, typer.Option("--admin", help="Grant every scope.")] = False,
    scopes: ScopesOpt = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    no_password: Annotated[bool, typer.Option("--no-password", help="API-key-only user.")] = False,
) -> None:
    """Create a user; prompts for the password unless --password-stdin or --no-password."""
    from app.cli.main import user_errors

    with user_errors():
        from app.services.auth import create_user

        password: str | None = None
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        elif not no_password:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        user = create_user(_db_url(), name, password, scopes=_scopes(scopes), admin=admin)
        typer.echo(f"created user {user.name} ({user.id}) scopes: {' '.join(user.scopes)}")


@keys_app.command("create")
def keys_create(
    user: Annotated[str, typer.Option("--user", "-u", help="Owner of the key.")],
    scopes: ScopesOpt = None,
    name: Annotated[str, typer.Option("--name", "-n", help="Label of the key.")] = "default",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Create an API key; its secret is shown only now."""
    from app.cli.main import user_errors

    with user_errors():
        from app.services.auth import create_api_key

        info, secret = create_api_key(_db_url(), user, scopes=_scopes(scopes), name=name)
        if as_json:
            typer.echo(json.dumps({"id": info.id, "key": secret, "scopes": list(info.scopes)}))
            return
        typer.echo(f"key id: {info.id}\nscopes: {' '.join(info.scopes)}\n{secret}")
        sys.stderr.write("Store this key now: it cannot be shown again.\n")


@keys_app.command("list")
def keys_list(
    user: Annotated[str | None, typer.Option("--user", "-u", help="Only this user's keys.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List API keys (never their secrets)."""
    from app.cli.main import user_errors

    with user_errors():
        from app.services.auth import list_api_keys

        keys = list_api_keys(_db_url(), user)
        rows = [
            {
                "id": k.id,
                "user": k.user_name,
                "name": k.name,
                "prefix": k.prefix,
                "scopes": list(k.scopes),
                "created_at": k.created_at.isoformat(),
                "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None,
                "revoked": k.revoked_at is not None,
            }
            for k in keys
        ]
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        for r in rows:
            state = "revoked" if r["revoked"] else "active"
            typer.echo(
                f"{r['id']}  {r['user']}  {r['name']}  fw_{r['prefix']}_…  "
                f"{','.join(r['scopes'])}  {state}"
            )


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(metavar="ID", help="Key id.")]) -> None:
    """Revoke a key and every token obtained with it."""
    from app.cli.main import user_errors

    with user_errors():
        from app.errors import FlowwrightError
        from app.services.auth import revoke_api_key

        if not revoke_api_key(_db_url(), key_id):
            raise FlowwrightError(
                f"no active key {key_id!r}",
                hint="See `flowwright keys list`.",
                code="KEY_UNKNOWN",
            )
        typer.echo(f"revoked key {key_id}")
