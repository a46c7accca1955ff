"""The whole retry budget of a sync, in one place, and the longest a failing run can last.

Retries nest: each HTTP request is tried several times, each Dagster op is retried by its
`RetryPolicy`, and Dagster may re-execute a whole run. Multiplied blindly, a vendor outage
kept one run busy for hours. Every layer takes its defaults from `DEFAULT_BUDGET` below
(`ExtractSettings`, `SyncSettingsResource`, the ops' `RetryPolicy`, the Postgres engine), and
the tests check that `dagster.yaml` and `deploy/dagster.yaml` say the same about run retries.

| layer | knob (default) | where it applies |
|---|---|---|
| HTTP request | `request_timeout_seconds` (30) | per request; a connection's `timeout_seconds` overrides it |
| HTTP page | `http_max_attempts` (6), backoff 0.5 s doubling, capped 30 s, full jitter | `extract/fetch.py` |
| HTTP page | `http_max_retry_after_seconds` (300): a longer `Retry-After` fails at once | `extract/fetch.py` |
| HTTP page | `http_page_deadline_seconds` (600): no retry starts past it | `extract/fetch.py` |
| database | connect 10 s, statement 900 s, dead peer noticed in 60 s (keepalives) | `load/pg_session.py` |
| op | `op_max_retries` (3), delay 15 s exponential (15, 45, 105 s) ± 15 s jitter | ops' `RetryPolicy` |
| run | `run_max_retries` (1), only for runs that crashed, not for failed ops | `dagster.yaml` |

Permanent errors (bad token, missing env var, broken mapping) skip the op retries entirely
(`orchestration/failures.py`). Run retries are limited to crashed runs
(`retry_on_asset_or_op_failure: false`): the op policy already retried each failed op, and
re-running the whole run after that would only multiply the same failure.

Worst case, with these defaults, a run that keeps failing gives up after
`worst_case_failing_run_seconds()` = 2 runs x (extract: 4 attempts x (600 + 30) s + 210 s of op
delays, plus load: 4 attempts x (900 + 10 + 60) s + 210 s) = 13,640 s, under the documented
ceiling `FAILING_RUN_CEILING_SECONDS` (4 h). Time spent doing useful work (pages read, batches
written) comes on top and grows with the data; `deploy/dagster.yaml` caps a whole run with
Dagster's run monitoring (`max_runtime_seconds`, `RUN_MAX_RUNTIME_SECONDS`).
"""

from __future__ import annotations

from dataclasses import dataclass

FAILING_RUN_CEILING_SECONDS = 4 * 3600
RUN_MAX_RUNTIME_SECONDS = 12 * 3600


@dataclass(frozen=True)
class RetryBudget:
    """Every retry and timeout knob of a sync; see the module docstring for the table."""

    request_timeout_seconds: float = 30.0
    http_max_attempts: int = 6
    http_backoff_base_seconds: float = 0.5
    http_backoff_cap_seconds: float = 30.0
    http_max_retry_after_seconds: float = 300.0
    http_page_deadline_seconds: float = 600.0
    db_connect_timeout_seconds: int = 10
    db_statement_timeout_seconds: int = 900
    db_keepalive_idle_seconds: int = 30
    db_keepalive_interval_seconds: int = 10
    db_keepalive_count: int = 3
    op_max_retries: int = 3
    op_retry_delay_seconds: float = 15.0
    run_max_retries: int = 1
    run_retry_on_op_failure: bool = False

    @property
    def db_dead_peer_seconds(self) -> int:
        """How long a silent database peer goes unnoticed (keepalives / `tcp_user_timeout`)."""
        return self.db_keepalive_idle_seconds + (
            self.db_keepalive_interval_seconds * self.db_keepalive_count
        )

    def failing_page_seconds(self) -> float:
        """Longest one page is tried: no retry starts past the deadline, plus that last try."""
        return self.http_page_deadline_seconds + self.request_timeout_seconds

    def failing_statement_seconds(self) -> float:
        """Longest one database operation hangs before it fails: connect, run, or a dead peer."""
        return (
            self.db_connect_timeout_seconds
            + self.db_statement_timeout_seconds
            + self.db_dead_peer_seconds
        )

    def op_retry_delays_seconds(self) -> list[float]:
        """Upper bounds of the waits between op attempts (Dagster's exponential, ± jitter)."""
        base = self.op_retry_delay_seconds
        return [(2**attempt - 1) * base + base for attempt in range(1, self.op_max_retries + 1)]

    def failing_op_seconds(self, attempt_seconds: float) -> float:
        """An op whose every attempt fails after `attempt_seconds`, through all its retries."""
        attempts = 1 + self.op_max_retries
        return attempts * attempt_seconds + sum(self.op_retry_delays_seconds())

    def worst_case_failing_run_seconds(self) -> float:
        """Longest a run can spend retrying before it gives up for good (all run attempts).

        The extract gets stuck on its last page, then (in the same run, once that worked) the
        load gets stuck on a database that hangs: each exhausts its op retries, and the run is
        re-executed `run_max_retries` times.
        """
        extract = self.failing_op_seconds(self.failing_page_seconds())
        load = self.failing_op_seconds(self.failing_statement_seconds())
        return (1 + self.run_max_retries) * (extract + load)


DEFAULT_BUDGET = RetryBudget()
