"""Entry point of the child process behind `run_sandbox(process=True)`.

    python -m integration_assets.sandbox.child '<json options>'

Starts both simulators, prints their URLs as one JSON line on stdout, and serves until stdin
is closed (which is how the parent stops it, and what happens if the parent dies).
"""

from __future__ import annotations

import json
import sys

from integration_assets.sandbox.server import SimulatorServer, build_simulators


def main(argv: list[str]) -> None:
    """Serve both simulators described by the JSON options in argv[1]."""
    options = json.loads(argv[1])
    shopify, klaviyo = build_simulators(**options["simulators"])
    shopify.prefetch = klaviyo.prefetch = True
    servers = [
        SimulatorServer(shopify, options["host"], options["shopify_port"]).start(),
        SimulatorServer(klaviyo, options["host"], options["klaviyo_port"]).start(),
    ]
    try:
        print(json.dumps([server.url for server in servers]), flush=True)
        sys.stdin.read()
    finally:
        for server in servers:
            server.stop()


if __name__ == "__main__":
    main(sys.argv)
