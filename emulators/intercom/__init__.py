"""A faithful local emulator of the Intercom REST API 2.16 for the parts revsync uses."""

from .app import DEFAULT_TOKEN, KNOWN_VERSIONS, IntercomEmulator
from .cli import build_from_args, build_parser

__all__ = ["DEFAULT_TOKEN", "KNOWN_VERSIONS", "IntercomEmulator", "build_from_args", "build_parser"]
