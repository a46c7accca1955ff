"""The repository is self-contained: its docs and code cite only files it carries."""

from __future__ import annotations

import re
import subprocess

from integration_assets_tests.orchestration.harness import REPO

_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
_PATH_IN_YAML_COMMENT = re.compile(r"\b((?:deploy|docs)/[\w./-]+\.(?:yaml|md))\b")


def _tracked(*patterns: str) -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", *patterns],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in listed.stdout.splitlines() if (REPO / line).exists()]


# A design document kept beside the clone (any `DESIGN` file) or a folder beside the clone: a
# user's clone has neither. Matched by pattern so that this file does not cite one itself.
_OUTSIDE = re.compile(r"\bDESIGN\.md\b|(?<![./\w])\.\./(?!\.\./)[a-z]+/")


def test_nothing_cites_a_design_file_outside_the_repository() -> None:
    offenders = [
        path
        for path in _tracked("*.py", "*.md", "*.yaml", "*.toml", "Makefile")
        if _OUTSIDE.search((REPO / path).read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_every_relative_link_and_cited_file_exists() -> None:
    missing = []
    for path in _tracked("*.md"):
        for target in _LINK.findall((REPO / path).read_text(encoding="utf-8")):
            if "://" not in target and not ((REPO / path).parent / target).exists():
                missing.append(f"{path} -> {target}")
    for path in _tracked("*.yaml"):
        for target in _PATH_IN_YAML_COMMENT.findall((REPO / path).read_text(encoding="utf-8")):
            if not (REPO / target).exists():
                missing.append(f"{path} -> {target}")
    assert missing == []
    assert (REPO / "docs" / "architecture.md").exists()
