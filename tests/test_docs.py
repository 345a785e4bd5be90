"""The README stands on its own: no link leaves the repository, the notes it relies on are in docs/,
and every command and option a user meets is documented."""

from __future__ import annotations

import re
from pathlib import Path

from cchc.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _links(text: str) -> list[str]:
    return re.findall(r"\]\(([^)]+)\)", text) + re.findall(r"`(\.\./[^`]+)`", text)


def test_readme_links_stay_in_the_repository():
    assert "../" not in README and "shared/" not in README
    for target in _links(README):
        if target.startswith(("http://127.0.0.1", "#")):
            continue
        assert not target.startswith(("http://", "https://", "/")), target
        assert (ROOT / target.split("#")[0]).exists(), target


def test_domain_and_architecture_notes_are_in_the_repository():
    domain = (ROOT / "docs" / "domain.md").read_text(encoding="utf-8")
    for section in ("## §2", "## §3", "## §4", "## §5", "## §6"):
        assert section in domain  # the code's "DOMAIN.md §n" notes point at these
    for rule in ("TrangThaiHoSo", "KenhThucHien", "ND 09/2019", "(trước hạn + đúng hạn) / đã giải quyết",
                 "nhận = đã giải quyết + đang giải quyết", "`tien_do`", "ngày làm việc"):
        assert rule in domain, rule
    arch = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert "cchc/domain/" in arch and "cchc/connectors/" in arch and "cchc/flows/" in arch
    assert "docs/domain.md" in README and "docs/architecture.md" in README


def test_every_command_and_the_options_users_ask_about_are_documented():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name in sub.choices:
        assert f"`cchc {name}" in README, name
    for text in ("stats --period P", "[--source S]", "--seed S", "--db URL", "`cchc db status`",
                 "createdb -h 127.0.0.1 -U postgres cchc", "CREATE DATABASE", "cchc reconcile --period P",
                 "cchc score766 --period P", "doi-soat-chi-tiet-"):
        assert text in README, text
