"""Simulators served by a child process, driven from the parent as if they were local.

In a thread the simulators share the interpreter lock with the code under test, so a
benchmark pays for generating the vendor's pages as well as for syncing them. With
`run_sandbox(process=True)` the servers live in a child process (on the machine's other core)
and the parent keeps a *replica* of each simulator: the data is a pure function of the seed and
of the sequence of `advance` calls, so the replica answers `records()` and `count()` itself and
only the writes (`advance`, faults, resets) and the request log travel over the `/_sandbox`
controls.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from integration_assets.sandbox.faults import FaultSettings
from integration_assets.sandbox.requestlog import LoggedRequest, RequestStats
from integration_assets.sandbox.simulator import AdvanceReport, Counts, Simulator

_STARTUP_TIMEOUT = 60.0


class RemoteSimulator:
    """The parent's handle on a simulator running in the child process.

    Same remote-control methods as `Simulator`; anything else (records, count, store, vendor_id,
    access_token, api_key …) is read from the local replica.
    """

    def __init__(self, replica: Simulator, url: str) -> None:
        self.replica = replica
        self.url = url
        replica.public_url = url
        self._client = httpx.Client(base_url=url, timeout=60)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.replica, name)

    def advance(
        self,
        seconds: int = 3600,
        updated_fraction: float = 0.01,
        created: Counts = 0,
        deleted: Counts = 0,
    ) -> AdvanceReport:
        """Advance the served simulator and replay the same change on the replica."""
        body = {
            "seconds": seconds,
            "updated_fraction": updated_fraction,
            "created": created if isinstance(created, int) else dict(created),
            "deleted": deleted if isinstance(deleted, int) else dict(deleted),
        }
        served = self._call("POST", "/_sandbox/advance", body)
        report = self.replica.advance(seconds, updated_fraction, created, deleted)
        if served != report.to_json():
            raise RuntimeError("the served simulator and its replica diverged")
        return report

    def send_event(self, at: int) -> int:
        """Not served over the controls: a replica alone would silently diverge."""
        raise NotImplementedError(
            "send_event has no /_sandbox control yet; use run_sandbox(process=False)"
        )

    @property
    def bulk(self) -> Any:
        """Not mirrored: the replica's bulk operations are not the ones the child serves."""
        raise NotImplementedError(
            "Shopify bulk operations run in the sandbox child process: drive them over "
            "GET/POST /_sandbox/bulk, or use run_sandbox(process=False)"
        )

    @property
    def fault_settings(self) -> FaultSettings:
        """The current fault switches."""
        return self.replica.fault_settings

    def set_faults(self, **changes: Any) -> FaultSettings:
        """Change some fault switches on the served simulator (and the replica)."""
        settings = self.replica.fault_settings.with_changes(**changes)
        wire = settings.to_json()
        self._call("POST", "/_sandbox/faults", {name: wire[name] for name in changes})
        return self.replica.set_faults(**changes)

    def clear_faults(self) -> FaultSettings:
        """Back to good behaviour (the rate-limit switch keeps its value)."""
        self._call("DELETE", "/_sandbox/faults")
        return self.replica.clear_faults()

    def stats(self) -> RequestStats:
        """The served simulator's request log."""
        body = self._call("GET", "/_sandbox/stats")
        return RequestStats(
            total=body["total"],
            by_path=body["by_path"],
            by_status={int(status): count for status, count in body["by_status"].items()},
            requests=[LoggedRequest(**request) for request in body["requests"]],
        )

    def reset_stats(self) -> None:
        """Forget the served simulator's request log."""
        self._call("POST", "/_sandbox/reset-stats")

    def reset(self) -> None:
        """Initial data, clock, faults and log, on both sides."""
        self._call("POST", "/_sandbox/reset")
        self.replica.reset()

    def close(self) -> None:
        """Close the control connection."""
        self._client.close()

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        response = self._client.request(method, path, json=body)
        response.raise_for_status()
        return response.json()


class ChildProcess:
    """The child Python process that serves the simulators (see `sandbox.child`).

    A plain subprocess rather than multiprocessing: spawning would re-import the caller's main
    module, which breaks any script without an `if __name__ == "__main__"` guard.
    """

    def __init__(self, options: dict[str, Any]) -> None:
        self._options = options
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> list[str]:
        """Start the child and return the simulators' URLs once they accept requests."""
        package_root = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
        self._process = subprocess.Popen(
            [sys.executable, "-m", "integration_assets.sandbox.child", json.dumps(self._options)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": path},
        )
        assert self._process.stdout is not None
        ready, _, _ = select.select([self._process.stdout], [], [], _STARTUP_TIMEOUT)
        line = self._process.stdout.readline() if ready else ""
        if not line:
            self.stop()
            raise RuntimeError("the sandbox child process did not start")
        return list(json.loads(line))

    def stop(self) -> None:
        """Close the child's stdin (its signal to stop) and make sure it exits."""
        process = self._process
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()
