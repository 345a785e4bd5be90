"""The monthly summary for leadership (issue 13): headline figures with change and target, the
12-month chart (a valid, deterministic PNG), the HTML/text email with every section and the chart by
Content-ID, the Nghị định 30/2020 Word report with the same figures, the markdown mirror, one outbox
message per recipient (once, on SQLite and PostgreSQL), delivered through the real local mailbox;
"không phát sinh" for an empty period; no personal data."""

from __future__ import annotations

import email
import email.policy
import io
import re
import struct
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml
from docx import Document
from openpyxl import load_workbook

from cchc.config import ConfigError, load_config
from cchc.connectors.mail import SmtpSender, SmtpSettings, build_message, message_id, send_outbox
from cchc.connectors.mailbox import Mailbox, free_port
from cchc.connectors.store import Store
from cchc.connectors.store.outbox import Outbox
from cchc.domain.bieu06 import Bieu06Row
from cchc.pipeline.monthly import monthly_messages
from cchc.report import monthly as mo
from cchc.report import nd30_docx as nd
from cchc.report.xlsx import write_bieu06_xlsx

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "config" / "demo.yaml"
NOW = datetime(2026, 11, 1, 7, 30)
RECIPIENTS = [{"name": "Nguyễn Thị Thanh", "title": "Chủ tịch UBND phường", "email": "chutich@hoaan.example.vn"},
              {"name": "Lê Văn Phúc", "title": "Phó Chủ tịch UBND phường", "email": "phochutich@hoaan.example.vn"}]
SECTIONS = ("Kết quả chủ yếu", "Xu hướng 12 tháng", "Xếp hạng các đơn vị", "Mười thủ tục có nhiều hồ sơ trễ hạn nhất",
            "Hồ sơ đang giải quyết quá hạn theo đơn vị", "Đối chiếu với Cổng Dịch vụ công quốc gia",
            "Kiểm tra và khắc phục")


def _total(received=1234, resolved=1100, **rates) -> dict:
    """A TOTAL object of `cchc stats --json` (only the keys the summary reads)."""
    row = {"group": "TOTAL", "label": "Tổng cộng", "received": received, "resolved": resolved, "carried_over": 50,
           "pending": 184, "late": 20}
    defaults = {"on_time_rate": (1080, 1100), "online_rate": (771, 1234), "full_online_rate": (370, 1234),
                "online_payment_rate": (0, 0), "digitization_rate": (1049, 1234), "apology_rate": (15, 20)}
    for key, (num, den) in {**defaults, **rates}.items():
        row.update({key: round(100 * num / den, 2) if den else None, f"{key}_num": num, f"{key}_den": den})
    return row


def _unit(label, received, resolved, on_time, online, pending, overdue) -> dict:
    return {"group": label[:3], "label": label, "received": received, "resolved": resolved,
            "on_time_rate": on_time, "on_time_rate_den": resolved, "online_rate": online, "online_rate_den": received,
            "pending": pending, "pending_overdue": overdue}


def _figures(**kw) -> mo.MonthlyFigures:
    base = dict(
        ward="Phường Hòa An (mô phỏng)", ward_slug="phuong-hoa-an-mo-phong", period="2026-10",
        period_label="Tháng 10/2026", period_range="Từ 01/10/2026 đến 31/10/2026",
        current=_total(),
        previous=_total(received=1200, resolved=1000, on_time_rate=(970, 1000), online_rate=(780, 1200)),
        trend=[(f"{m:02d}/2026", 90 + m / 2, 40 + m) for m in range(1, 11)] + [("11/2025", None, 50.0),
                                                                                ("12/2025", 88.0, 39.0)],
        units=[_unit("Văn phòng HĐND và UBND", 300, 280, 99.0, 50.0, 20, 3),
               _unit("Phòng Kinh tế - Hạ tầng và Đô thị", 120, 100, 91.0, 70.0, 30, 9),
               _unit("Phòng Văn hóa - Xã hội", 0, 0, None, None, 0, 0),
               {"group": "TOTAL", "label": "Tổng cộng", "received": 420}],
        procedures=[{"label": f"Thủ tục số {i}", "late": i, "resolved": 40 + i} for i in range(1, 14)]
        + [{"label": "Không trễ", "late": 0, "resolved": 99}],
        reconciliation=[{"label": "Văn phòng HĐND và UBND", "provincial": 300, "on_national": 295, "missing": 5,
                         "status_mismatches": 1, "due_mismatches": 0, "finish_mismatches": 0, "sync_rate": 98.33},
                        {"label": "Phòng Kinh tế - Hạ tầng và Đô thị", "provincial": 120, "on_national": 120,
                         "missing": 0, "status_mismatches": 0, "due_mismatches": 0, "finish_mismatches": 0,
                         "sync_rate": 100.0}],
        inspections=[{"unit": "Văn phòng HĐND và UBND", "date": date(2026, 10, 21), "kind": "định kỳ", "findings": 2}],
        remediation={"open": 1, "done": 3, "overdue": 1}, simulated=True, provisional=True)
    return mo.MonthlyFigures(**{**base, **kw})


def _empty() -> mo.MonthlyFigures:
    zero = {"group": "TOTAL", "label": "Tổng cộng", "received": 0, "resolved": 0, "carried_over": 0, "pending": 0,
            "late": 0}
    for key, _ in mo.HEADLINE_RATES:
        zero.update({key: None, f"{key}_num": 0, f"{key}_den": 0})
    return _figures(current=zero, previous=None, trend=[], units=[_unit("Phòng Văn hóa - Xã hội", 0, 0, None, None, 0, 0)],
                    procedures=[], reconciliation=None, inspections=[], remediation={}, provisional=False)


SETUP = mo.ReportSetup(targets={"on_time_rate": 95, "online_rate": 70, "apology_rate": 100, "digitization_rate": 80},
                       place="Hòa An", issue_date=date(2026, 11, 1), number=15, symbol="BC-UBND",
                       signer=nd.Signer("Nguyễn Thị Thanh", "Chủ tịch UBND phường"),
                       receivers=["Thường trực Đảng ủy phường", "Chủ tịch, các Phó Chủ tịch UBND phường"],
                       archive="VT, VP")


def _xlsx(tmp_path: Path, fig: mo.MonthlyFigures) -> Path:
    c = fig.current
    total = Bieu06Row("", "Tổng cộng", c["received"], 771, c["received"] - 771, c["carried_over"], c["resolved"],
                      500, 580, 20, c["pending"], 150, 34)
    return write_bieu06_xlsx(tmp_path / "bieu06.xlsx", ward_name=fig.ward, province="Tỉnh Mô Phỏng",
                             period_label=fig.period_label, period_from=date(2026, 10, 1),
                             period_to=date(2026, 10, 31), rows_by_field=[total], simulated=True,
                             generated_at=datetime(2026, 11, 1, 7, 0))


def _texts(doc) -> list[str]:
    out = [p.text for p in doc.paragraphs]
    for t in doc.tables:
        for row in t.rows:
            out += [c.text for c in row.cells]
    return out


# ------------------------------------------------------------------------------ figures


def test_headline_changes_targets_and_not_arising() -> None:
    h = {x.key: x for x in mo.headline_figures(_figures().current, _figures().previous, SETUP.targets)}
    assert list(h) == ["received", "resolved", *[k for k, _ in mo.HEADLINE_RATES]]
    assert (h["received"].text, h["received"].change_text) == ("1.234", "+34 hồ sơ")
    assert (h["resolved"].text, h["resolved"].change_text) == ("1.100", "+100 hồ sơ")
    # 98,18% now against 97,00%: +1,18 points, target 95 met
    assert (h["on_time_rate"].text, h["on_time_rate"].detail) == ("98,18%", "1.080/1.100")
    assert h["on_time_rate"].change_text == "+1,18 điểm %" and h["on_time_rate"].met is True
    assert h["on_time_rate"].status_text == "Đạt" and h["on_time_rate"].target_text == "95,00%"
    # 62,48% against 65,00%: a fall, target 70 not met
    assert h["online_rate"].change_text == "-2,52 điểm %" and h["online_rate"].met is False
    assert h["online_rate"].status_text == "Chưa đạt"
    assert h["full_online_rate"].change_text == "không đổi" and h["full_online_rate"].met is None  # no target
    # a zero denominator (no fee-paying dossier): "không phát sinh", no 0%, no judgement
    pay = h["online_payment_rate"]
    assert (pay.text, pay.value, pay.change_text, pay.met, pay.status_text) == ("không phát sinh", None, "—", None, "")
    assert h["apology_rate"].text == "75,00%" and h["apology_rate"].met is False
    # the previous rate did not arise: said so, no change computed
    prev = _total(online_rate=(0, 0))
    assert mo.headline_figures(_total(), prev)[3].change_text == "kỳ trước không phát sinh"
    assert mo.headline_figures(_total(), None)[0].change_text == "—"


def test_sections_rank_top_ten_and_gaps() -> None:
    fig = _figures()
    ranking = mo.unit_ranking(fig.units)
    assert [(r["rank"], r["unit"]) for r in ranking] == [
        ("1", "Văn phòng HĐND và UBND"), ("2", "Phòng Kinh tế - Hạ tầng và Đô thị"), ("—", "Phòng Văn hóa - Xã hội")]
    assert ranking[2]["on_time"] == "không phát sinh"
    top = mo.late_procedures(fig.procedures)
    assert len(top) == 10 and top[0]["procedure"] == "Thủ tục số 13" and top[-1]["procedure"] == "Thủ tục số 4"
    assert top[0]["late_rate"] == "24,53%"  # 13 of 53
    overdue = mo.overdue_by_unit(fig.units)
    assert [(r["unit"], r["overdue"], r["share"]) for r in overdue] == [
        ("Phòng Kinh tế - Hạ tầng và Đô thị", "9", "30,00%"), ("Văn phòng HĐND và UBND", "3", "15,00%")]
    gaps, total = mo.reconciliation_gaps(fig.reconciliation)
    assert [g["unit"] for g in gaps] == ["Văn phòng HĐND và UBND"]  # the unit without a gap is left out
    assert (total["provincial"], total["missing"], total["mismatches"], total["sync_rate"]) == ("420", "5", "1", "98,81%")
    assert mo.reconciliation_gaps(None) is None


# -------------------------------------------------------------------------------- chart


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out, i = [], 8
    while i < len(data):
        (n,) = struct.unpack(">I", data[i:i + 4])
        out.append((data[i + 4:i + 8], data[i + 8:i + 8 + n]))
        i += 12 + n
    return out


def test_trend_chart_is_a_deterministic_matplotlib_png() -> None:
    from PIL import Image

    series = _figures().trend
    png = mo.trend_chart_png(series)
    chunks = _png_chunks(png)
    kinds = [k for k, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"tIME" not in kinds
    text = b"".join(v for k, v in chunks if k in (b"tEXt", b"iTXt"))
    assert b"Software" in text and b"Matplotlib" in text  # matplotlib wrote it
    assert not re.search(rb"20\d\d-\d\d-\d\d", text)  # no creation date
    assert Image.open(io.BytesIO(png)).size == mo.CHART_SIZE_PX
    assert mo.trend_chart_png(series) == png  # the same input, the same bytes
    assert mo.trend_chart_png(series[:-1]) != png
    assert Image.open(io.BytesIO(mo.trend_chart_png([]))).size == mo.CHART_SIZE_PX  # nothing yet: still a PNG


# -------------------------------------------------------------------------------- email


def test_email_has_every_part() -> None:
    fig = _figures()
    mail = mo.render_email(fig, SETUP, RECIPIENTS[0])
    assert mail.subject == ("[MÔ PHỎNG] Tổng hợp tình hình giải quyết TTHC tháng 10/2026 — Phường Hòa An (mô phỏng) "
                            "(số liệu tạm tính)")
    for body in (mail.html, mail.text):
        for section in SECTIONS:
            assert section.lower() in body.lower(), section
        for figure in ("1.234", "98,18%", "+1,18 điểm %", "-2,52 điểm %", "Chưa đạt", "Đạt 2/4 mục tiêu",
                       "Thủ tục số 13", "Phòng Kinh tế - Hạ tầng và Đô thị", "98,81%", "21/10/2026",
                       "Quá hạn khắc phục", mo.SIMULATED_BANNER, mo.PROVISIONAL_NOTE, "Nguyễn Thị Thanh"):
            assert figure in body, figure
        assert "Thủ tục số 3<" not in body and "Thủ tục số 3:" not in body  # only the top ten
    html = mail.html
    assert f'src="cid:{mo.chart_cid(fig)}"' in html
    # mobile-readable and self-contained: a viewport, tables, inline styles, nothing external
    assert 'name="viewport"' in html and "max-width:640px" in html
    assert not re.search(r"<(style|link|script)\b", html, re.I)
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:|//)""", html, re.I)
    tags = re.findall(r"<(td|th|p|h1|h2|table)\b([^>]*)>", html)
    assert tags and all("style=" in attrs for _, attrs in tags)
    assert "Thủ tục số 13" in mo.render_email(fig, SETUP).html  # without a recipient: no greeting, same body


def test_empty_period_says_khong_phat_sinh(tmp_path: Path) -> None:
    fig = _empty()
    mail = mo.render_email(fig, SETUP, RECIPIENTS[0])
    md = mo.render_markdown(fig, SETUP)
    for body in (mail.html, mail.text, md):
        assert mo.EMPTY_NOTE in body
        assert body.count("không phát sinh") >= 6  # every rate
        assert not re.search(r"(?<![\d,.])0(,00)?%", body) and not re.search(r"\bnan\b", body, re.I)
        assert "chưa đối chiếu" in body and "Trong kỳ không có cuộc kiểm tra" in body
    doc = Document(str(mo.render_docx(fig, SETUP, tmp_path / "bc.docx")))
    table = {r.cells[1].text: r.cells[2].text for r in doc.tables[1].rows[1:]}
    assert table["Tỉ lệ giải quyết đúng hạn"] == "không phát sinh" and table["Hồ sơ tiếp nhận"] == "0"
    assert mo.summary_json(fig, SETUP)["empty"] is True
    assert mo.trend_chart_png(fig.trend)[:8] == b"\x89PNG\r\n\x1a\n"


def test_markdown_mirror_and_keys() -> None:
    fig = _figures()
    md = mo.render_markdown(fig, SETUP)
    assert md.lstrip().startswith(">") and "# Tổng hợp tình hình giải quyết TTHC tháng 10/2026" in md
    for section in SECTIONS:
        assert f". {section}" in md
    assert "| Tỉ lệ giải quyết đúng hạn | 98,18% (1.080/1.100) | 97,00% | +1,18 điểm % | 95,00% | Đạt |" in md
    assert "| 11/2025 | không phát sinh | 50,00% |" in md
    assert mo.artifact_key(fig.ward_slug, fig.period) == "tong-hop-thang-phuong-hoa-an-mo-phong-2026-10"
    assert mo.message_key("2026-10", "ChuTich@hoaan.example.vn") == "tong-hop-thang|2026-10|chutich@hoaan.example.vn"
    summary = mo.summary_json(fig, SETUP)
    assert summary["headline"][2] == {"key": "on_time_rate", "label": "Tỉ lệ giải quyết đúng hạn", "value": 98.18,
                                      "text": "98,18%", "previous": "97,00%", "change": 1.18,
                                      "change_text": "+1,18 điểm %", "target": 95.0, "met": True}
    assert (summary["targets_met"], summary["targets_total"], summary["late_procedures"]) == (2, 4, 10)


def test_ward_template_overrides_the_email(tmp_path: Path) -> None:
    own = tmp_path / "mau" / "monthly"
    own.mkdir(parents=True)
    (own / "subject.txt.j2").write_text("Báo cáo tháng của phường {{ period }}", encoding="utf-8")
    setup = mo.ReportSetup(templates_dir=tmp_path / "mau")
    mail = mo.render_email(_figures(), setup)
    assert mail.subject == "Báo cáo tháng của phường 2026-10" and "Xếp hạng các đơn vị" in mail.html


# ---------------------------------------------------------------------------- Word report


def test_shipped_docx_template_is_what_the_builder_makes(tmp_path: Path) -> None:
    (fresh,) = mo.build_templates(tmp_path)
    with zipfile.ZipFile(fresh) as a, zipfile.ZipFile(nd.TEMPLATES / mo.DOCX_TEMPLATE) as b:
        assert a.read("word/document.xml") == b.read("word/document.xml"), "run tools/build_report_templates.py"


def test_docx_report_layout_and_same_figures(tmp_path: Path) -> None:
    fig = _figures()
    png = mo.trend_chart_png(fig.trend)
    doc = Document(str(mo.render_docx(fig, SETUP, tmp_path / "2026-10" / "bc.docx", png)))
    texts = _texts(doc)
    joined = "\n".join(texts)
    assert "Số: 15/BC-UBND" in joined and "Hòa An, ngày 01 tháng 11 năm 2026" in joined
    assert nd.NATIONAL_TITLE in joined and nd.MOTTO in joined and "PHƯỜNG HÒA AN" in joined
    assert "BÁO CÁO" in texts and "Tình hình giải quyết thủ tục hành chính tháng 10/2026" in texts
    assert mo.SIMULATED_BANNER in texts and mo.PROVISIONAL_NOTE in texts
    assert "Nơi nhận:" in joined and "- Thường trực Đảng ủy phường;" in joined and "- Lưu: VT, VP." in joined
    assert "TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH" in joined and "Nguyễn Thị Thanh" in joined
    assert not any("{{" in t or "{%" in t for t in texts)
    # the headline table holds exactly the figures of the inputs
    rows = [[c.text for c in r.cells] for r in doc.tables[1].rows[1:]]
    expected = mo.headline_figures(fig.current, fig.previous, SETUP.targets)
    assert rows == [[str(i), h.label, h.text, h.previous_text, h.change_text, h.target_text, h.status_text]
                    for i, h in enumerate(expected, start=1)]
    assert rows[0][2] == "1.234" and rows[2][2] == "98,18%"
    ranking = [[c.text for c in r.cells][:2] for r in doc.tables[2].rows[1:]]
    assert ranking == [["1", "Văn phòng HĐND và UBND"], ["2", "Phòng Kinh tế - Hạ tầng và Đô thị"],
                       ["—", "Phòng Văn hóa - Xã hội"]]
    assert len(doc.tables[3].rows) == 11 and doc.tables[3].rows[1].cells[1].text == "Thủ tục số 13"
    # the chart is in the document, byte for byte
    assert len(doc.inline_shapes) == 1
    with zipfile.ZipFile(tmp_path / "2026-10" / "bc.docx") as z:
        media = [n for n in z.namelist() if n.startswith("word/media/")]
        assert [z.read(n) for n in media] == [png]


# ------------------------------------------------------------------------------ messages


def _messages(tmp_path: Path, fig=None, recipients=RECIPIENTS):
    fig = fig or _figures()
    folder = tmp_path / "var" / "reports" / fig.period
    docx = mo.render_docx(fig, SETUP, folder / "bc.docx")
    return monthly_messages(fig, SETUP, recipients, xlsx=_xlsx(folder, fig), docx=docx.read_bytes(),
                               files_dir=folder)


def test_messages_parse_with_vietnamese_and_open_attachments(tmp_path: Path) -> None:
    fig = _figures()
    msgs = _messages(tmp_path, fig, [*RECIPIENTS, {**RECIPIENTS[0], "email": "CHUTICH@hoaan.example.vn"}])
    assert [m.recipient for m in msgs] == [r["email"] for r in RECIPIENTS]  # one per recipient
    assert [m.key for m in msgs] == [f"tong-hop-thang|2026-10|{r['email']}" for r in RECIPIENTS]
    assert {m.kind for m in msgs} == {"tong-hop-thang"}
    assert "Kính gửi: <strong>Lê Văn Phúc</strong>" in msgs[1].body_html
    m = msgs[0]
    raw = build_message(sender="tonghop@hoaan.example.vn", to=m.recipient, to_name=m.recipient_name,
                        subject=m.subject, text=m.body_text, html=m.body_html, attachments=m.attachments,
                        msg_id=message_id(m.key, "tonghop@hoaan.example.vn")).as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == m.subject and "Tổng hợp tình hình giải quyết TTHC tháng 10/2026" in parsed["Subject"]
    assert parsed["To"].addresses[0].display_name == "Nguyễn Thị Thanh"
    assert "Tỉ lệ giải quyết đúng hạn: 98,18%" in parsed.get_body(("plain",)).get_content()
    html = parsed.get_body(("html",)).get_content()
    assert "Xếp hạng các đơn vị" in html
    _check_parts(parsed, fig)


def _check_parts(parsed, fig) -> None:
    """The chart inline (Content-ID referenced by the HTML, a PNG), the .xlsx and the .docx attached and
    carrying the figures."""
    html = parsed.get_body(("html",)).get_content()
    images = [p for p in parsed.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1
    cid = images[0]["Content-ID"].strip("<>")
    assert cid == mo.chart_cid(fig) and f"cid:{cid}" in html
    assert images[0].get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    files = {p.get_filename(): p.get_content() for p in parsed.iter_attachments()}
    names = mo.file_names(fig)
    assert set(files) == {names["xlsx"], names["docx"]}
    ws = load_workbook(io.BytesIO(files[names["xlsx"]]))["Biểu 06 (lĩnh vực)"]
    total = next(r for r in ws.iter_rows(values_only=True) if "Tổng cộng" in r)
    assert fig.current["received"] in total and fig.current["resolved"] in total
    doc = Document(io.BytesIO(files[names["docx"]]))
    cells = {r.cells[1].text: r.cells[2].text for r in doc.tables[1].rows[1:]}
    assert cells["Hồ sơ tiếp nhận"] == "1.234" and cells["Tỉ lệ giải quyết đúng hạn"] == "98,18%"


def test_enqueue_twice_inserts_once(db_url, tmp_path: Path) -> None:
    store = Store(db_url)
    store.migrate()
    outbox = Outbox(store.engine)
    msgs = _messages(tmp_path)
    first = outbox.enqueue(msgs, NOW)
    again = outbox.enqueue(_messages(tmp_path), NOW)
    assert (first.inserted, again.inserted, again.existing) == (2, 0, 2)
    assert outbox.counts(kind=mo.KIND)["queued"] == 2


def test_delivered_through_the_local_mailbox_once_per_recipient(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/cchc.sqlite")
    store.migrate()
    outbox = Outbox(store.engine)
    fig = _figures()
    outbox.enqueue(_messages(tmp_path, fig), NOW)
    port = free_port()
    settings = SmtpSettings(host="127.0.0.1", port=port, sender="tonghop@hoaan.example.vn",
                            sender_name="Hệ thống CCHC - Phường Hòa An")
    with Mailbox(directory=tmp_path / "mail", port=port) as box:
        report = send_outbox(outbox, SmtpSender(settings), NOW)
        assert report.sent == 2 and report.errors == []
        outbox.enqueue(_messages(tmp_path, fig), NOW)  # the same period again: nothing new
        assert send_outbox(outbox, SmtpSender(settings), NOW).sent == 0
        received = box.received
        messages = box.messages()
    assert sorted(r for m in received for r in m.recipients) == sorted(r["email"] for r in RECIPIENTS)
    assert len(messages) == 2
    for parsed in messages:
        assert parsed["Subject"].startswith("[MÔ PHỎNG] Tổng hợp tình hình giải quyết TTHC tháng 10/2026")
        _check_parts(parsed, fig)


def test_no_personal_data_in_any_output(tmp_path: Path) -> None:
    fig = _figures()
    msgs = _messages(tmp_path, fig)
    folder = tmp_path / "var" / "reports" / fig.period
    docx_text = "\n".join(_texts(Document(str(folder / mo.file_names(fig)["docx"]))))
    for m in msgs:
        for body in (m.subject, m.body_text, m.body_html, docx_text, mo.render_markdown(fig, SETUP)):
            body = body.replace(f"cid:{mo.chart_cid(fig)}", "")  # the chart's Content-ID, not an address
            addresses = set(re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", body))
            assert addresses <= {m.recipient}, addresses  # no address but the recipient's own
            assert not re.search(r"(?<![\d.])\d{9,12}(?![\d.])", body)  # no ID or phone-like number


# -------------------------------------------------------------------------------- config


def _config(tmp_path: Path, **section) -> Path:
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    data["monthly_report"] = section
    p = tmp_path / "ward.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


def test_monthly_config_demo_and_defaults(tmp_path: Path) -> None:
    cfg = load_config(DEMO, env={})
    assert cfg.monthly_report.targets["on_time_rate"] == 95 and cfg.monthly_send_day() == 1
    assert [r.email for r in cfg.monthly_recipients()] == [x.email for x in cfg.leadership]  # leadership by default
    assert cfg.monthly_signer().name == "Nguyễn Thị Thanh"
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    data.pop("monthly_report")
    data["reporting"]["period_mode"] = "administrative"
    p = tmp_path / "admin.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    cfg = load_config(p, env={})
    assert cfg.monthly_send_day() == 15 and cfg.monthly_report.targets == {}  # the 15th: the month ends on the 14th
    own = load_config(_config(tmp_path, recipients=[{"name": "Văn phòng", "email": "vanphong@hoaan.example.vn"}],
                              send_day=3, signer="Lê Văn Phúc"), env={})
    assert [r.email for r in own.monthly_recipients()] == ["vanphong@hoaan.example.vn"]
    assert own.monthly_send_day() == 3 and own.monthly_signer().title == "Phó Chủ tịch UBND phường"


@pytest.mark.parametrize(("section", "key"), [
    ({"targets": {"ti_le_dep": 90}}, "monthly_report.targets"),
    ({"targets": {"on_time_rate": 120}}, "monthly_report.targets"),
    ({"send_day": 31}, "monthly_report.send_day"),
    ({"signer": "Người Lạ"}, "monthly_report.signer"),
    ({"recipients": [{"name": "A", "email": "khong-phai-email"}]}, "monthly_report.recipients[0].email"),
    ({"gui_luc": 1}, "monthly_report.gui_luc"),
])
def test_monthly_config_errors_name_the_key(tmp_path: Path, section: dict, key: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_config(_config(tmp_path, **section), env={})
    assert f": {key}" in str(e.value) and "\n" not in str(e.value)
