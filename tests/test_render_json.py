"""``--json``: indented at a terminal, one line when piped, and redacted either way."""

from __future__ import annotations

import io
import json

import pytest

from mr import render


class Out(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def printed(data: object, tty: bool, monkeypatch: pytest.MonkeyPatch) -> str:
    out = Out(tty)
    monkeypatch.setattr("sys.stdout", out)
    render.print_json(data)
    return out.getvalue()


DATA = {"links": [{"name": "a", "project": "https://github.com/o/r", "n": 1}], "stage": None}


def test_one_line_when_piped(monkeypatch: pytest.MonkeyPatch) -> None:
    text = printed(DATA, False, monkeypatch)
    assert text.count("\n") == 1 and text.endswith("\n")
    assert json.loads(text) == DATA


def test_indented_at_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    text = printed(DATA, True, monkeypatch)
    assert '\n  "links": [\n' in text
    assert json.loads(text) == DATA


@pytest.mark.parametrize("tty", [False, True])
@pytest.mark.parametrize(
    ("secret", "shown"),
    [
        ("https://user:hunter2@example.com/r.git", "https://user:***@example.com/r.git"),
        ("https://ghp_token@example.com/r.git", "https://***@example.com/r.git"),
        ("https://example.com/r.git?private_token=abc", "https://example.com/r.git?private_token=***"),
    ],
)
def test_secrets_are_redacted_anywhere_in_the_document(
    monkeypatch: pytest.MonkeyPatch, tty: bool, secret: str, shown: str
) -> None:
    data = {"a": [{"deep": [secret]}], "b": ("x", secret), "plain": "me@example.com"}
    text = printed(data, tty, monkeypatch)
    assert "hunter2" not in text and "ghp_token" not in text and "=abc" not in text
    back = json.loads(text)
    assert back == {"a": [{"deep": [shown]}], "b": ["x", shown], "plain": "me@example.com"}
