"""The outbox table as a terminal shows it: columns aligned by display width."""

from __future__ import annotations

from collections.abc import Callable

from click.testing import Result
from wcwidth import wcswidth

from conftest import PRIYA

Run = Callable[..., Result]


def test_list_aligns_wide_and_accented_names_by_display_width(run: Run) -> None:
    orgs = ("Acme", "株式会社ソニーグループ採用", "Zoë Ünal Verlag")
    for org in orgs:
        run("new", "--to", PRIYA, "--org", org, "--role", "Analyst", "--rejected",
            "2026-11-20T16:00", ok=True)
    header, *rows = run("list", ok=True).stdout.splitlines()
    subject_at = wcswidth(header[: header.index("SUBJECT")])
    for row in rows:
        # The subject starts in the same terminal column on every row, wide characters or not.
        start = row.index("Two quick questions")
        assert wcswidth(row[:start]) == subject_at, row
    # Twenty cells at most: the CJK name (two cells a character) is cut at nine characters.
    assert "株式会社ソニーグル…" in rows[1] and "Zoë Ünal Verlag" in rows[2]
