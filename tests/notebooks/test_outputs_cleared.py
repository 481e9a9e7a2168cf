"""Notebooks are committed clean: no outputs, no execution counts, no widget state, no secrets."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))

# What a leaked credential looks like in a file.
SECRET_PATTERNS = {
    "session id / access token": re.compile(r"00D[A-Za-z0-9]{12}![A-Za-z0-9._]{20,}"),
    "consumer key": re.compile(r"3MVG9[A-Za-z0-9._]{20,}"),
    "consumer secret (64 hex digits)": re.compile(r"\b[A-Fa-f0-9]{64}\b"),
    "secret assigned in .env style": re.compile(
        r"SF_CONSUMER_(?:SECRET|KEY)[ \t]*=[ \t]*['\"]?[A-Za-z0-9._~+/-]{8,}"
    ),
    "secret passed as an argument": re.compile(
        r"consumer_secret\s*=\s*['\"][^'\"]{8,}['\"]|access_token['\"]?\s*[:=]\s*['\"][^'\"]{8,}"
    ),
    "Authorization header": re.compile(r"Bearer\s+[A-Za-z0-9._!-]{20,}"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
}


def find_secrets(text: str) -> list[str]:
    """Names of the secret patterns found in ``text``."""
    return [name for name, pattern in SECRET_PATTERNS.items() if pattern.search(text)]


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 3


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_outputs_are_cleared(path: Path) -> None:
    nb: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    dirty = [
        i
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]
    assert dirty == [], f"{path.name}: clear the outputs of cells {dirty} before committing"
    assert "widgets" not in nb.get("metadata", {}), f"{path.name}: saved widget state"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_secrets(path: Path) -> None:
    assert find_secrets(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "leak",
    [
        "00DDE0000000001!AQ4bX9.kd83nD9vMdl2.dks83kD",
        "3MVG9pRzvMkjMb6lZlt3YjDQwe.Hl6yLf9kF3",
        "a" * 32 + "0123456789abcdef0123456789abcdef",
        "SF_CONSUMER_SECRET=9F8E7D6C5B4A",
        'org = sfnotebook.connect(consumer_secret="hunter2hunter2")',
        "Authorization: Bearer 00Dxx0000001gEH!AQcAQH0dMHZfz",
        "-----BEGIN RSA PRIVATE KEY-----",
    ],
)
def test_the_scanner_finds_planted_secrets(leak: str) -> None:
    assert find_secrets(f'{{"source": ["x = 1\\n", "{leak}"]}}')


def test_the_scanner_passes_the_env_example_lines() -> None:
    assert (
        find_secrets("SF_CONSUMER_KEY=\nSF_CONSUMER_SECRET=\nSF_DOMAIN=acme.my.salesforce.com")
        == []
    )
