"""All configuration in one place: `FLOWWRIGHT_*` environment variables (and `.env`).

Every setting is documented in docs/configuration.md; keep the two in step.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Flowwright settings, read from `FLOWWRIGHT_<NAME>` variables."""

    model_config = SettingsConfigDict(
        env_prefix="FLOWWRIGHT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    home: Path = Field(
        Path(".flowwright"), description="Directory for local state (SQLite file, traces)."
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of Flowwright's own state; default SQLite under home."
    )
    redis_url: str | None = Field(None, description="Redis URL for shared rate limits.")
    jwt_secret: SecretStr | None = Field(None, description="Secret that signs API tokens.")
    planner: Literal["rules", "llm"] = Field("rules", description="Default planner backend.")
    llm_model: str | None = Field(
        None, description="LangChain `init_chat_model` id such as `openai:gpt-4o-mini`."
    )
    workspace: Path = Field(
        Path("workspace"), description="The only directory file tools may read or write."
    )
    allow_private_networks: bool = Field(
        False, description="Let network tools reach private, loopback and link-local addresses."
    )
    sql_url: str | None = Field(
        None, description="SQLAlchemy URL of the database the SQL tools query (not Flowwright's)."
    )
    smtp_host: str | None = Field(None, description="SMTP server for `send_email`.")
    smtp_port: int = Field(25, description="SMTP port.")
    smtp_username: str | None = Field(None, description="SMTP login user.")
    smtp_password: SecretStr | None = Field(None, description="SMTP login password.")
    smtp_sender: str = Field("flowwright@localhost", description="From address of sent mail.")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    dns_servers: str | None = Field(
        None, description="Resolvers for `dns_lookup`: comma-separated `ip[:port]`."
    )
    http_timeout_s: float = Field(10.0, description="Default timeout of network tools.")
    http_max_bytes: int = Field(
        5_000_000, description="Largest response body a network tool reads."
    )
    max_spec_bytes: int = Field(1_000_000, description="Largest workflow spec accepted.")
    max_file_bytes: int = Field(20_000_000, description="Largest file a file tool reads.")
    history_retention_days: int = Field(
        30, ge=1, description="Finished runs (and their checkpoints) older than this are pruned."
    )

    @property
    def resolved_database_url(self) -> str:
        """The state database URL, defaulting to a SQLite file under `home`."""
        return self.database_url or f"sqlite:///{self.home / 'flowwright.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call `get_settings.cache_clear()` after changing env."""
    return Settings()
