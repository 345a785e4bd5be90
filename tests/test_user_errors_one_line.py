"""Files and URLs a user gets wrong end in one line naming what is wrong, exit 1, no traceback and
no write (issue 9, item 9): a UTF-16 or binary YAML file, a port out of range, a database file that
is not SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cchc.cli import main
from cchc.config import ConfigError, load_config
from cchc.connectors.store import Store, StoreError

DEMO = Path(__file__).resolve().parent.parent / "config" / "demo.yaml"


def _one_line_error(capsys, argv) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        (DEMO.read_text(encoding="utf-8").encode("utf-16"), "UTF-16"),
        (DEMO.read_text(encoding="utf-8").encode("utf-16-le"), "NUL"),  # no BOM
        (bytes(range(256)) * 8, "NUL"),
        (bytes(range(1, 256)) * 8, "UTF-8"),
        (b"ward:\n  name: a\x00b\n", "NUL"),
        (b"ward:\n  start: 2026-13-45\n", "month must be in 1..12"),
        (b"[" * 5000, "YAML"),
        (b"ward: [unclosed\n", "YAML không hợp lệ"),
    ],
)
def test_unreadable_yaml_is_one_line(tmp_path, capsys, content, expect):
    p = tmp_path / "ward.yaml"
    p.write_bytes(content)
    with pytest.raises(ConfigError, match=expect) as e:
        load_config(p, env={})
    assert str(p) in str(e.value) and "\n" not in str(e.value)
    err = _one_line_error(capsys, ["--config", str(p), "stats"])
    assert str(p) in err
    err = _one_line_error(capsys, ["config", "check", str(p)])
    assert str(p) in err


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999", "http://127.0.0.1:0", "http://127.0.0.1:port", "http://:80"])
def test_base_url_with_a_bad_port_or_no_host_is_one_line(tmp_path, capsys, url):
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    data["database_url"] = f"sqlite:///{tmp_path}/never.sqlite"
    data["sources"]["provincial"]["base_url"] = url
    p = tmp_path / "ward.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sources\.provincial\.base_url"):
        load_config(p, env={})
    err = _one_line_error(capsys, ["--config", str(p), "sync", "--source", "provincial"])
    assert "sources.provincial.base_url" in err
    assert not (tmp_path / "never.sqlite").exists()  # nothing written


def test_a_file_that_is_not_sqlite_is_one_line_and_untouched(tmp_path, capsys, monkeypatch):
    db = tmp_path / "cchc.sqlite"
    junk = bytes(range(256)) * 20
    db.write_bytes(junk)
    with pytest.raises(StoreError, match="không phải cơ sở dữ liệu SQLite"):
        Store(f"sqlite:///{db}").migrate()
    monkeypatch.setenv("CCHC_DATABASE_URL", f"sqlite:///{db}")
    for argv in (["--config", str(DEMO), "db", "upgrade"], ["--config", str(DEMO), "stats"],
                 ["--config", str(DEMO), "quarantine"]):
        err = _one_line_error(capsys, argv)
        assert str(db) in err
    assert db.read_bytes() == junk
    assert sorted(x.name for x in tmp_path.iterdir()) == ["cchc.sqlite"]  # no -wal, no -journal


def test_a_directory_as_sqlite_database_is_one_line(tmp_path):
    with pytest.raises(StoreError, match="thư mục"):
        Store(f"sqlite:///{tmp_path}")


# --------------------------------------------------------------------- the one UserError path (issue 10)
def _user_error_classes():
    from cchc.cli.reports import PeriodArgumentError
    from cchc.config import ConfigError
    from cchc.connectors.excel_import import ExcelFormatError
    from cchc.connectors.http import SourceError
    from cchc.connectors.store import SyncBusy
    from cchc.domain.bieu06 import Bieu06IdentityError
    from cchc.domain.sources import SourceChoiceError
    from cchc.flows.schedule import ScheduleError
    from cchc.flows.sync_dossiers import SyncFailed
    from cchc.pipeline.demo import DemoStoreRefused
    from cchc.pipeline.freshness import DataTooOld

    return [ConfigError, SourceError, StoreError, SyncBusy, SyncFailed, ExcelFormatError, Bieu06IdentityError,
            ScheduleError, PeriodArgumentError, SourceChoiceError, DataTooOld, DemoStoreRefused]


def test_every_user_caused_error_is_a_user_error():
    from cchc.errors import UserError, user_error_names

    for cls in _user_error_classes():
        assert issubclass(cls, UserError), cls
        assert cls.__name__ in user_error_names()
    src = Path(__file__).resolve().parent.parent / "cchc"
    flagged = [p for p in src.rglob("*.py") if "user_facing" in p.read_text(encoding="utf-8")]
    assert not flagged, f"user_facing flags instead of UserError: {flagged}"


def test_a_user_error_raised_in_a_command_is_one_line_exit_1(capsys, monkeypatch):
    from cchc.cli import admin
    from cchc.errors import UserError

    class WardFileBroken(UserError):
        pass

    def broken(args):
        raise WardFileBroken("ward.yaml: dòng 3 hỏng / line 3 broken")

    monkeypatch.setattr(admin, "cmd_quarantine", broken)
    err = _one_line_error(capsys, ["quarantine"])
    assert err == "Lỗi / error: ward.yaml: dòng 3 hỏng / line 3 broken"


def test_a_bug_is_not_a_user_error(monkeypatch):
    from cchc.cli import admin

    def broken(args):
        raise ValueError("a bug")

    monkeypatch.setattr(admin, "cmd_quarantine", broken)
    with pytest.raises(ValueError, match="a bug"):
        main(["quarantine"])
