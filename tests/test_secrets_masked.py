"""Credentials are masked in every message, whatever their shape (issue 9, item 8): the masking
function itself, then each channel a user or a log reads — configuration errors, store errors,
source errors, log records and the command line."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

from cchc.config import ConfigError, load_config
from cchc.connectors.http import ResilientClient, SourceError, display_url
from cchc.connectors.store import Store, StoreError, safe_url
from cchc.domain.redact import MASK, mask_secrets

DEMO = Path(__file__).resolve().parent.parent / "config" / "demo.yaml"

# (text, the secret it carries, what must remain readable)
SHAPES = [
    ("postgres:DbSecret42@127.0.0.1/x", "DbSecret42", "127.0.0.1/x"),
    ("postgresql://u:p@ss@127.0.0.1/x", "ss@127", "postgresql://u:***@127.0.0.1/x"),
    ("postgresql://u:p@ss@127.0.0.1/x", "p@ss", "127.0.0.1/x"),
    ("postgresql+psycopg2://admin:Pa%40ss%3Aw0rd@db.example.vn:5432/cchc", "Pa%40ss", "db.example.vn:5432/cchc"),
    ("http://user:S3cretPw@127.0.0.1:99999/api", "S3cretPw", "127.0.0.1:99999/api"),
    ("postgresql+psycopg2://postgres:Sekr3t@127.0.0.1:abc/x (invalid literal)", "Sekr3t", "127.0.0.1:abc/x"),
    ("postgresql://u:Multi9@h1:5432,h2:5433/db", "Multi9", "h1:5432,h2:5433/db"),
    ("https://ward:a:b:c@gw.example.vn/v1", "a:b:c", "gw.example.vn/v1"),
    ("mysql://root:@host/db", "root:@", "host/db"),  # empty password: shape kept, nothing to leak
    ("https://h.example.vn/api?PageNumber=1&password=hunter2&x=1", "hunter2", "PageNumber=1"),
    ("https://h.example.vn/api?token=abc123def&PageSize=5", "abc123def", "PageSize=5"),
    ("https://h.example.vn/api?access_token=tok.en-42", "tok.en-42", "h.example.vn/api"),
    ("https://h.example.vn/api?api_key=K3y-9&sig=zzzzzz", "K3y-9", "h.example.vn"),
    ("https://h.example.vn/api?sig=zzzzzz", "zzzzzz", "h.example.vn"),
    ("dbname=cchc user=postgres password=PgPw77 host=db", "PgPw77", "host=db"),
    ('{"username": "canbo", "password": "JsonPw1!", "madonvi": "H99"}', "JsonPw1!", '"madonvi": "H99"'),
    ("password: 'YamlPw22'", "YamlPw22", "password"),
    ('"session": "sess-0123456789"', "sess-0123456789", "session"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "eyJhbGciOiJIUzI1NiJ9", "Authorization"),
    ("Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA", "Basic"),
    ("https://ghp_0123456789abcdefABCD@github.com/org/repo", "ghp_0123456789abcdefABCD", "github.com/org/repo"),
    ("lỗi kết nối 'postgres:DbSecret42@127.0.0.1/x' (máy chủ từ chối)", "DbSecret42", "(máy chủ từ chối)"),
]


@pytest.mark.parametrize(("text", "secret", "kept"), SHAPES)
def test_every_credential_shape_is_masked(text, secret, kept):
    out = mask_secrets(text)
    assert secret not in out
    assert MASK in out or secret == "root:@"
    assert kept in out
    assert mask_secrets(out) == out  # idempotent


@pytest.mark.parametrize(
    "text",
    [
        "sqlite:///var/cchc.sqlite",
        "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres",
        "http://127.0.0.1:8765/api/v1/hoso?TiepNhanFrom=2026-01-01&PageNumber=2",
        "Gửi tới truongphong.vhxh@hoaan.example.vn lúc 10:30",
        "sources.provincial.token: unknown key (khóa không hợp lệ)",
        "token_env: CCHC_PROVINCIAL_TOKEN, password_env=CCHC_NATIONAL_PASSWORD",
        "Dòng 12, cột 'Ngày tiếp nhận': ngày không hợp lệ: '31/02/2026'",
    ],
)
def test_text_without_credentials_is_unchanged(text):
    assert mask_secrets(text) == text


def test_known_secrets_are_masked_raw_and_percent_encoded():
    out = mask_secrets("t=S3cr3t T0ken! và S3cr3t%20T0ken%21 và S3cr3t+T0ken%21", known=["S3cr3t T0ken!", None, "ab"])
    assert "S3cr3t" not in out and out.count(MASK) == 3


def test_safe_url_masks_what_sqlalchemy_half_masked():
    assert safe_url("postgresql://u:p@ss@127.0.0.1/x") == "postgresql://u:***@127.0.0.1/x"
    assert safe_url("postgres:DbSecret42@127.0.0.1/x") == "postgres:***@127.0.0.1/x"
    assert safe_url("sqlite:///var/cchc.sqlite") == "sqlite:///var/cchc.sqlite"


# --------------------------------------------------------------------------- configuration errors


def _cfg_file(tmp_path, mutate=lambda d: None) -> Path:
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    mutate(data)
    p = tmp_path / "ward.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("env", "secret"),
    [
        ({"CCHC_DATABASE_URL": "postgres:DbSecret42@127.0.0.1/x"}, "DbSecret42"),
        ({"CCHC_DATABASE_URL": "postgresql://u:Pa@ssWord9@127.0.0.1/x"}, "ssWord9"),
        ({"CCHC_PROVINCIAL_URL": "ftp://user:FtpPw555@127.0.0.1/x"}, "FtpPw555"),
        ({"CCHC_PROVINCIAL_URL": "http://user:PortPw66@127.0.0.1:99999"}, "PortPw66"),
        ({"CCHC_NATIONAL_URL": "http://user:Na@tional7@127.0.0.1:1"}, "tional7"),
    ],
)
def test_configuration_errors_mask_credentials(tmp_path, env, secret):
    with pytest.raises(ConfigError) as e:
        load_config(_cfg_file(tmp_path), env=env)
    msg = str(e.value)
    assert secret not in msg and MASK in msg
    assert "\n" not in msg


def test_config_check_command_masks_credentials(tmp_path, capsys, monkeypatch):
    from cchc.cli import main

    p = _cfg_file(tmp_path)
    monkeypatch.setenv("CCHC_DATABASE_URL", "postgres:DbSecret42@127.0.0.1/x")
    assert main(["config", "check", str(p)]) == 1
    err = capsys.readouterr().err
    assert "DbSecret42" not in err and "postgres:***@127.0.0.1/x" in err


# ------------------------------------------------------------------------ store and source errors


def test_store_error_masks_the_password():
    url = "postgresql+psycopg2://postgres:TopSecret77@127.0.0.1:1/x"  # nothing listens on port 1
    with pytest.raises(StoreError) as e:
        Store(url).migrate()
    assert "TopSecret77" not in str(e.value) and "postgres:***@127.0.0.1:1/x" in str(e.value)


def test_store_error_message_is_masked_at_construction():
    assert "Pw9x" not in str(StoreError("kết nối postgresql://a:Pw9x@h/db thất bại"))


def test_source_errors_mask_credentials_in_url_and_message():
    client = ResilientClient("http://ward:UrlPw123@127.0.0.1:9", max_retries=0, timeout_s=1)
    with pytest.raises(SourceError) as e:
        client.get_json("/api/v1/hoso", {"PageNumber": 1})
    assert "UrlPw123" not in str(e.value) and "UrlPw123" not in e.value.url
    echoed = SourceError("máy chủ nói: password=Echoed99 sai", "http://u:UPw1@h/x")
    assert "Echoed99" not in str(echoed) and "UPw1" not in echoed.url


def test_display_url_never_raises_on_a_bad_port():
    assert display_url("http://user:pw@127.0.0.1:99999/api?x=1") == "http://127.0.0.1:99999/api"


# ------------------------------------------------------------------------------------------ logs


@pytest.mark.parametrize("logger_name", ["cchc.connectors", "cchc.sync", "prefect.flow_runs", "some.library"])
@pytest.mark.parametrize(("text", "secret", "kept"), SHAPES[:6] + SHAPES[12:14])
def test_every_log_record_is_masked(caplog, logger_name, text, secret, kept):
    caplog.set_level(logging.DEBUG)
    logging.getLogger(logger_name).warning("kết nối %s thất bại", text)
    (record,) = [r for r in caplog.records if r.name == logger_name]
    assert secret not in record.getMessage() and secret not in caplog.text
    assert kept in record.getMessage()
