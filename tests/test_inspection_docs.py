"""The inspection's documents: Nghị định 30/2020 layout (A4, margins, Times New Roman, header
table, page numbers from page 2, Nơi nhận, signature), the notice's units and dates, the sheet's
figures or "không phát sinh", the sample .xlsx; no personal data in any of them."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Mm, Pt
from factories import done, fact, facts
from openpyxl import load_workbook

from cchc.config import load_config
from cchc.connectors.store import Store
from cchc.connectors.store.inspections import sampled_facts, sampling_facts
from cchc.domain import metrics as m
from cchc.domain.inspection_plan import plan_inspections
from cchc.domain.periods import Period
from cchc.domain.sampling import plan_sample
from cchc.domain.wire import parse_dossier
from cchc.report import nd30_docx as nd
from cchc.report.inspection_docs import (
    NOTICE_TEMPLATE,
    SAMPLE_HEADERS,
    SHEET_TEMPLATE,
    NoticeInfo,
    SheetInfo,
    build_templates,
    render_notice,
    render_sheet,
    write_sample_xlsx,
)
from cchc.report.tables import json_rows
from cchc.simulator.ward import SyntheticWard

ROOT = Path(__file__).resolve().parent.parent
CFG = load_config(ROOT / "config" / "demo.yaml", env={})
SIGNER = nd.Signer("Lê Văn Phúc", "Phó Chủ tịch UBND phường")


def _plan():
    i = CFG.inspection
    return plan_inspections(CFG.plan_units(), i.domain_waves(), i.plan_rules(), CFG.make_calendar(),
                            sources=["05 12 18 23 37 41"], policy=i.risk_policy())


def _info(**kw) -> NoticeInfo:
    base = dict(ward_name=CFG.ward.name, place=CFG.ward.place_name, year=2026, issue_date=date(2026, 6, 5),
                number=12, signer=SIGNER, simulated=True)
    return NoticeInfo(**{**base, **kw})


def _texts(doc) -> list[str]:
    out = [p.text for p in doc.paragraphs]
    for t in doc.tables:
        for row in t.rows:
            for cell in row.cells:
                out += [p.text for p in cell.paragraphs]
    return out


def _runs(doc):
    for p in doc.paragraphs:
        yield p, list(p.runs)
    for t in doc.tables:
        for row in t.rows:
            for cell in row.cells:
                for p in cell.paragraphs:
                    yield p, list(p.runs)


def _find(doc, text: str):
    return next((p, r) for p, runs in _runs(doc) for r in runs if r.text == text)


@pytest.mark.parametrize(("d", "text"), [
    (date(2026, 1, 5), "ngày 05 tháng 01 năm 2026"), (date(2026, 2, 15), "ngày 15 tháng 02 năm 2026"),
    (date(2026, 3, 5), "ngày 05 tháng 3 năm 2026"), (date(2026, 12, 10), "ngày 10 tháng 12 năm 2026"),
    (date(2026, 11, 9), "ngày 09 tháng 11 năm 2026"),
])
def test_date_leading_zero_rule(d: date, text: str) -> None:
    assert nd.nd30_date(d) == text
    assert nd.date_line("Hòa An", d) == f"Hòa An, {text}"


def test_signature_and_recipient_lines() -> None:
    assert nd.signature_lines(nd.Signer("A", "Chủ tịch UBND phường")) == ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"]
    assert nd.signature_lines(SIGNER) == ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"]
    assert nd.recipient_lines(["Như trên", "Chủ tịch;"], "VT, VHXH") == ["- Như trên;", "- Chủ tịch;",
                                                                         "- Lưu: VT, VHXH."]
    assert nd.number_line(12, "TB-UBND") == "Số: 12/TB-UBND" and "/TB-UBND" in nd.number_line(None, "TB-UBND")


def test_notice_layout_units_and_dates(tmp_path: Path) -> None:
    plan = _plan()
    wave = plan.waves[0]
    out = render_notice(wave, _info(), tmp_path / "2026" / "thong-bao-dot-1.docx",
                        self_report_deadlines=plan.self_report_deadlines, selection_id=42)
    doc = Document(str(out))
    s = doc.sections[0]
    assert abs(s.page_width - Mm(210)) < Mm(0.5) and abs(s.page_height - Mm(297)) < Mm(0.5)  # A4 portrait
    def within(v, low_mm, high_mm):  # Word stores twentieths of a point: allow a rounding
        return Mm(low_mm - 0.1) <= v <= Mm(high_mm + 0.1)

    assert within(s.top_margin, 20, 25) and within(s.bottom_margin, 20, 25)
    assert within(s.left_margin, 30, 35) and within(s.right_margin, 15, 20)
    assert s.different_first_page_header_footer  # no number on page 1
    header = s.header.paragraphs[0]
    assert header.alignment == WD_ALIGN_PARAGRAPH.CENTER and "PAGE" in header._p.xml
    assert not "".join(p.text for p in s.first_page_header.paragraphs).strip()
    # every run is Times New Roman (the run's own font or the Normal style's)
    assert doc.styles["Normal"].font.name == nd.FONT
    assert all(r.font.name in (None, nd.FONT) for _, runs in _runs(doc) for r in runs)
    texts = _texts(doc)
    joined = "\n".join(texts)
    for v in wave.visits:
        assert v.unit_name in joined and f"{v.visit_date:%d/%m/%Y}" in joined and f"{v.report_due:%d/%m/%Y}" in joined
    assert "Số: 12/TB-UBND" in texts and "Hòa An, ngày 05 tháng 6 năm 2026" in texts
    assert "từ ngày 01/07/2026 đến ngày 10/07/2026" in joined and wave.draw.key in joined
    assert "- Báo cáo tự kiểm tra gửi trước ngày 30/11/2026." in texts
    # the header block
    _, nat = _find(doc, nd.NATIONAL_TITLE)
    assert nat.font.bold and Pt(12) <= nat.font.size <= Pt(13)
    _, motto = _find(doc, nd.MOTTO)
    assert motto.font.bold and Pt(13) <= motto.font.size <= Pt(14)
    _, line = _find(doc, "Hòa An, ngày 05 tháng 6 năm 2026")
    assert line.font.italic
    body_cell = doc.tables[0].rows[0].cells[0]
    assert "ỦY BAN NHÂN DÂN" in body_cell.text and "PHƯỜNG HÒA AN" in body_cell.text
    assert any(r.font.bold for p in body_cell.paragraphs for r in p.runs if "PHƯỜNG HÒA AN" in p.text)
    _, kind = _find(doc, "THÔNG BÁO")
    assert kind.font.bold
    # body paragraphs: justified, first-line indent 1,27 cm, 6 pt after, 13–14 pt
    para, run = next((p, r[0]) for p, r in _runs(doc) if p.text.startswith("Thực hiện Kế hoạch"))
    assert para.alignment == WD_ALIGN_PARAGRAPH.JUSTIFY
    assert abs(para.paragraph_format.first_line_indent - Cm(1.27)) < Mm(0.5)
    assert para.paragraph_format.space_after == Pt(6) and Pt(13) <= run.font.size <= Pt(14)
    # Nơi nhận and the signature
    _, where = _find(doc, "Nơi nhận:")
    assert where.font.bold and where.font.italic and where.font.size == Pt(12)
    closing = doc.tables[-1].rows[0].cells[0]
    assert closing.paragraphs[0].text == "Nơi nhận:"
    recipients = [p.text for p in closing.paragraphs[1:] if p.text]
    assert recipients[-1] == "- Lưu: VT, VHXH." and all(r.endswith(";") for r in recipients[:-1])
    _, first_recipient = _find(doc, recipients[0])
    assert first_recipient.font.size == Pt(11)
    for text in ("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "Lê Văn Phúc"):
        assert _find(doc, text)[1].font.bold
    assert not any("{{" in t or "{%" in t for t in texts)  # every tag rendered


def test_notice_from_a_ward_template_first(tmp_path: Path) -> None:
    own = tmp_path / "mau"
    build_templates(own)
    doc = Document(str(own / NOTICE_TEMPLATE))
    doc.add_paragraph("Mẫu riêng của phường")
    doc.save(str(own / NOTICE_TEMPLATE))
    out = render_notice(_plan().waves[1], _info(templates_dir=own), tmp_path / "tb.docx")
    assert "Mẫu riêng của phường" in _texts(Document(str(out)))
    missing = tmp_path / "trong"
    missing.mkdir()
    out2 = render_notice(_plan().waves[1], _info(templates_dir=missing), tmp_path / "tb2.docx")
    assert "Mẫu riêng của phường" not in _texts(Document(str(out2)))  # falls back to the package's


def test_shipped_templates_are_what_the_builder_makes(tmp_path: Path) -> None:
    fresh = build_templates(tmp_path)
    for path in fresh:
        shipped = nd.TEMPLATES / path.name
        with zipfile.ZipFile(path) as a, zipfile.ZipFile(shipped) as b:
            assert a.read("word/document.xml") == b.read("word/document.xml"), (
                f"{path.name}: run tools/build_report_templates.py")
    assert {p.name for p in fresh} == {NOTICE_TEMPLATE, SHEET_TEMPLATE}


def _stats_object() -> dict:
    period = Period.named("month", 2026, 10)
    rows = facts(
        done("2026-10-01 08:00", "2026-10-05 17:00", "2026-10-02 09:00", unit_code="H99.99.01"),
        done("2026-10-01 08:00", "2026-10-02 17:00", "2026-10-06 09:00", unit_code="H99.99.01", apology=True),
        fact(unit_code="H99.99.01", channel=2, online_level=4.0, received_at="2026-10-12 08:00"),
        fact(unit_code="H99.99.01", channel=3, received_at="2026-10-13 08:00", due_at="2026-10-14 17:00"),
    )
    table = m.indicator_table(m.classify(rows, period), by="unit")
    return next(o for o in json_rows(table, "unit") if o["group"] == "H99.99.01")


def test_sheet_prefills_the_outline_figures(tmp_path: Path) -> None:
    stats = _stats_object()
    assert (stats["received"], stats["resolved"], stats["late"], stats["pending"]) == (4, 2, 1, 2)
    out = render_sheet(SheetInfo("Văn phòng HĐND và UBND", "Tháng 10/2026", _info(), date(2026, 10, 21)), stats,
                       tmp_path / "phieu-VP.docx")
    doc = Document(str(out))
    figures = {row.cells[0].text or row.cells[1].text: row.cells[2].text for row in doc.tables[1].rows[1:]}
    assert figures["1"] == "4" and figures["1.1"] == "1" and figures["- Trực tuyến toàn trình"] == "1"
    assert figures["- Trong đó qua dịch vụ bưu chính công ích"] == "1" and figures["1.2"] == "3"
    assert (figures["2"], figures["2.1"], figures["2.3"]) == ("2", "1", "1")
    assert figures["3"] == "2" and figures["8"] == "1" and figures["- Trên tổng số hồ sơ trễ hạn"] == "3"  # 1 resolved late + 2 pending overdue
    joined = "\n".join(_texts(doc))
    assert "Văn phòng HĐND và UBND" in joined and "21/10/2026" in joined and "không phát sinh" not in joined


def test_sheet_of_a_unit_without_dossiers_says_so(tmp_path: Path) -> None:
    for stats in (None, {"received": 0, "carried_over": 0, "resolved": 0, "pending": 0}):
        out = render_sheet(SheetInfo("Phòng Kinh tế - Hạ tầng và Đô thị", "Tháng 10/2026", _info()), stats,
                           tmp_path / "phieu-KT.docx")
        doc = Document(str(out))
        assert "Trong kỳ, đơn vị không phát sinh hồ sơ thủ tục hành chính." in _texts(doc)
        assert len(doc.tables) == 2  # the header and the closing block: no figures table


def test_sample_xlsx_and_no_personal_data(tmp_path: Path) -> None:
    ward = SyntheticWard(seed=31, n_dossiers=300, as_of=date(2026, 11, 20), months=6, extra_personal=True)
    store = Store(f"sqlite:///{tmp_path}/s.sqlite")
    store.migrate()
    picked = list(ward.select())
    store.upsert_page("provincial", [parse_dossier(ward.canonical(i), "provincial") for i in picked])
    personal = {v for i in picked for v in ward.personal_values(i) if len(v) >= 5}
    assert len(personal) > 300
    period = Period.named("quarter", 2026, 3)
    units = {"TTPVHCC": "H99.99.04", "VP": "H99.99.01"}
    lots = sampling_facts(store, "provincial", units, period)
    assert len(lots["TTPVHCC"]) > 0
    sample = plan_sample(lots["TTPVHCC"], ["05 12 18 23 37 41"], high_risk_cap=10)
    sampled = sampled_facts(store, "provincial", lots["TTPVHCC"], sample)
    assert list(sampled["code"]) == [r.code for r in sample.rows]
    out = write_sample_xlsx(sample, sampled, tmp_path / "2026" / "mau-TTPVHCC.xlsx",
                            unit_name="Trung tâm Phục vụ hành chính công", period_label=period.label, selection_id=3)
    ws = load_workbook(out).active
    rows = list(ws.iter_rows(values_only=True))
    head = next(i for i, r in enumerate(rows) if r[0] == "STT")
    assert tuple(rows[head][: len(SAMPLE_HEADERS)]) == SAMPLE_HEADERS
    body = rows[head + 1:]
    assert [r[1] for r in body] == [r.code for r in sample.rows]
    assert all(r[4] is not None and r[7] for r in body)  # received date and status filled
    names = {d.code: d.procedure_name for d in (parse_dossier(ward.canonical(i), "provincial") for i in picked)}
    assert [r[3] for r in body] == [names[r.code] for r in sample.rows]  # the source's procedure name
    assert all(r[3] for r in body)
    assert all(r[8] == s.reason for r, s in zip(body, sample.rows, strict=True))
    wave = _plan().waves[0]
    notice = render_notice(wave, _info(), tmp_path / "tb.docx")
    stats = {"received": len(lots["TTPVHCC"]), "resolved": 1, "pending": 0, "carried_over": 0}
    sheet = render_sheet(SheetInfo("Trung tâm", period.label, _info()), stats, tmp_path / "p.docx")
    text = "\n".join(str(c) for r in rows for c in r if c is not None)
    text += "\n".join(_texts(Document(str(notice)))) + "\n".join(_texts(Document(str(sheet))))
    leaked = sorted(v for v in personal if v in text)
    assert not leaked, leaked[:5]
