"""The API reads the one `app.config.Settings`; these names keep the API's imports short."""

from __future__ import annotations

import ipaddress

from app.config import Settings as ApiSettings
from app.config import get_settings as get_api_settings

MIN_SECRET_BYTES = 32
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

__all__ = ["MIN_SECRET_BYTES", "ApiSettings", "IPNetwork", "get_api_settings"]
