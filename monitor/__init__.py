"""monitor — a news monitor that tells the relevant story from the flood.

The data flow is ``feeds → fetch → parse → dedup → score → store → alert``; the private
modules follow it one job each, and this package exposes only the small public surface below.
"""

from __future__ import annotations

from ._errors import (
    ConfigError,
    DeliveryError,
    EndpointGoneError,
    FetchError,
    LockedError,
    MonitorError,
    ParseError,
    StorageError,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DeliveryError",
    "EndpointGoneError",
    "FetchError",
    "LockedError",
    "MonitorError",
    "ParseError",
    "StorageError",
    "__version__",
]
