"""Deterministic, stateless randomness: every value is a pure function of (seed, index, version).

The sandbox never keeps generated records. Record *i* is rebuilt on demand from integers mixed
here, so a million-record shop costs no memory and two sandboxes with the same seed serve the
same bytes. `random.Random` is avoided on the hot path because it is stateful (order matters)
and slower than one splitmix64 round.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

MASK64 = (1 << 64) - 1
TWO64 = float(1 << 64)
_T = TypeVar("_T")


def mix64(value: int) -> int:
    """Scramble a 64-bit integer (splitmix64 finaliser): neighbouring inputs look unrelated."""
    value = (value + 0x9E3779B97F4A7C15) & MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & MASK64
    return value ^ (value >> 31)


def salt(seed: int, label: str) -> int:
    """A per-purpose key, so entities and fields drawn from one seed stay independent."""
    value = mix64(seed & MASK64)
    for char in label:
        value = mix64(value ^ ord(char))
    return value


def draw(key: int, index: int, version: int = 0) -> int:
    """The 64 random bits of (key, index, version): one splitmix64 round over a linear mix."""
    value = (key + index * 0x9E3779B97F4A7C15 + version * 0xD1B54A32D192ED03) & MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & MASK64
    return value ^ (value >> 31)


def unit(bits: int) -> float:
    """Map 64 random bits to [0, 1)."""
    return bits / TWO64


def pick(options: Sequence[_T], bits: int) -> _T:
    """Choose one option with the given random bits."""
    return options[bits % len(options)]
