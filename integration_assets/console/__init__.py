"""The console: a small local web server beside the syncs.

It receives vendors' webhooks (`POST /webhooks/{vendor}/{connection}`), verifies them and
stores them in the warehouse's webhook inbox (`load/inbox.py`); behind a login it shows the
sync status page and launches "sync now" runs (`monitor.py`). Run it with
`integration-assets serve`; it binds 127.0.0.1 unless told otherwise.
"""

from integration_assets.console.app import build_app
from integration_assets.console.settings import ConsoleConfigError, ConsoleSettings

__all__ = ["ConsoleConfigError", "ConsoleSettings", "build_app"]
