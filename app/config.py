"""All configuration in one place: `FLOWWRIGHT_*` environment variables (and `.env`).

Every setting is documented in docs/configuration.md; keep the two in step.
"""

from __future__ import annotations

import ipaddress
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
    jwt_secret: SecretStr | None = Field(
        None, description="HS256 secret that signs API tokens (at least 32 bytes)."
    )
    planner: Literal["rules", "llm"] = Field("rules", description="Default planner backend.")
    planner_examples: bool = Field(
        False,
        description="Let the rules planner learn from a TaskBench catalog's own training records "
        "(data.json minus split_ids.json's test ids).",
    )
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

    # --- REST API -------------------------------------------------------------------------------
    api_dev_mode: bool = Field(
        False, description="Allow a missing JWT secret: a random one is generated per server."
    )
    jwt_issuer: str = Field("flowwright", description="`iss` claim of issued tokens.")
    jwt_audience: str = Field("flowwright-api", description="`aud` claim of issued tokens.")
    jwt_leeway_s: int = Field(5, ge=0, le=300, description="Clock skew allowed on exp/nbf/iat.")
    access_token_ttl_s: int = Field(900, ge=30, description="Access token lifetime (seconds).")
    refresh_token_ttl_s: int = Field(
        14 * 24 * 3600, ge=60, description="Refresh token family lifetime (seconds)."
    )
    rate_limit_enabled: bool = Field(True, description="Turn rate limiting off entirely.")
    rate_limit_anonymous: str = Field("30/minute", description="Unauthenticated routes, per IP.")
    rate_limit_authenticated: str = Field("120/minute", description="Authenticated routes.")
    rate_limit_validation: str = Field("60/minute", description="`POST /validate`.")
    rate_limit_generation: str = Field("10/minute", description="Generation and run routes.")
    rate_limit_strategy: Literal["moving-window", "fixed-window", "sliding-window-counter"] = Field(
        "moving-window", description="`limits` strategy; moving-window is exact."
    )
    rate_limit_key_prefix: str = Field("flowwright", description="Prefix of rate-limit keys.")
    trusted_proxies: str = Field(
        "", description="Comma-separated IPs/CIDRs whose X-Forwarded-For is honoured."
    )
    max_request_bytes: int = Field(
        2_000_000, ge=1024, description="Largest request body accepted (413 above)."
    )
    job_lost_after_s: float = Field(
        60.0,
        ge=1,
        description="A queued or running job whose worker has not reported for "
        "this long is lost (its worker died): it is shown as interrupted (or failed if it never "
        "started).",
    )

    # --- observability --------------------------------------------------------------------------
    trace_local: bool = Field(True, description="Record traces in the local trace store.")
    trace_redact: bool = Field(
        True, description="Redact secrets and tokens in stored and exported traces."
    )
    health_timeout_s: float = Field(
        2.0, gt=0, le=60, description="Time limit of each readiness check."
    )
    log_level: str = Field("INFO", description="Log level of the API server.")
    log_json: bool = Field(True, description="Write logs as JSON lines.")

    def trusted_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        """Parsed `trusted_proxies`; a bad entry raises ValueError at start-up, not per request."""
        items = (p.strip() for p in self.trusted_proxies.split(","))
        return [ipaddress.ip_network(p, strict=False) for p in items if p]

    @property
    def resolved_database_url(self) -> str:
        """The state database URL, defaulting to a SQLite file under `home`."""
        return self.database_url or f"sqlite:///{self.home / 'flowwright.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call `get_settings.cache_clear()` after changing env."""
    return Settings()
