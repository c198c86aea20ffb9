"""A faithful local emulator of the Intercom REST API 2.16 for the parts revsync uses."""

from .app import DEFAULT_TOKEN, KNOWN_VERSIONS, IntercomEmulator
from .cli import IntercomRunner, build_from_args, build_parser
from .persistence import load_state_file, save_state_file

__all__ = [
    "DEFAULT_TOKEN",
    "KNOWN_VERSIONS",
    "IntercomEmulator",
    "IntercomRunner",
    "build_from_args",
    "build_parser",
    "load_state_file",
    "save_state_file",
]
