"""The error a user should read when a run fails: ours, not Dagster's wrapper around it."""

from typing import Any

from dagster import ExecuteInProcessResult


def run_failure_message(result: ExecuteInProcessResult) -> str:
    """`ErrorClass: message` of the first failed step's own exception."""
    for event in result.all_events:
        if not (
            event.is_step_failure and event.step_failure_data and event.step_failure_data.error
        ):
            continue
        error: Any = event.step_failure_data.error
        while error.cause is not None and error.cls_name.startswith("Dagster"):
            error = error.cause
        message = error.message.strip()
        qualified, separator, text = message.partition(": ")
        if separator and qualified.endswith(error.cls_name):
            message = text  # Dagster prefixes the module path of the exception class
        return f"{error.cls_name}: {message}"
    return "the run failed (see the Dagster UI for its logs)"
