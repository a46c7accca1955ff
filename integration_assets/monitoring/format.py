"""Short human forms of ages, durations, speeds and error messages, shared by the terminal
table and the console so both say the same thing the same way."""

from __future__ import annotations


def duration(seconds: float | None) -> str:
    """`42s`, `7m`, `3h`, `2d`; `-` when unknown."""
    if seconds is None:
        return "-"
    whole = max(int(seconds), 0)
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if whole >= size:
            return f"{whole // size}{unit}"
    return f"{whole}s"


def ago(seconds: float | None) -> str:
    """`7m ago`; `never` when there was none."""
    return "never" if seconds is None else f"{duration(seconds)} ago"


def speed(records_per_second: float | None) -> str:
    """`1,234/s`; `-` when unknown."""
    return "-" if records_per_second is None else f"{records_per_second:,.0f}/s"


def short(text: str | None, limit: int = 60) -> str:
    """The first line of `text`, at most `limit` characters; `-` when there is none."""
    if not text:
        return "-"
    line = text.strip().splitlines()[0] if text.strip() else "-"
    return line if len(line) <= limit else line[: limit - 1] + "…"
