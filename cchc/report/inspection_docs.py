"""The inspection's documents (issue 11): the notice of a wave (THÔNG BÁO kế hoạch kiểm tra), the
per-unit inspection sheet pre-filled with the unit report outline's figures, and the sampled
dossiers per unit (.xlsx). The caller gives the output path (e.g. var/reports/<year>/).

    render_notice(wave_plan, NoticeInfo(ward_name=..., place="Hòa An", year=2026, ...), "tb.docx")
    render_sheet(SheetInfo(unit_name=..., period_label=...), stats_object_or_None, "phieu.docx")
    write_sample_xlsx(sample_plan, lot_frame, "mau.xlsx", unit_name=..., period_label=...)

The Word files are rendered from docxtpl templates in cchc/report/templates/ (a ward's
`templates_dir` is searched first), built by `build_templates()` (tools/build_report_templates.py)
with the Nghị định 30/2020 layout of `nd30_docx`; an officer may edit their wording in Word.
No output names a citizen: the dossier list carries codes, procedures, dates and status only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd
from docx.enum.text import WD_ALIGN_PARAGRAPH

from cchc.domain.inspection_plan import Deadline, WavePlan
from cchc.domain.records import STATUS_NAMES_VI, Status
from cchc.domain.sampling import SamplePlan
from cchc.domain.text import format_int
from cchc.report import nd30_docx as nd

NOTICE_TEMPLATE = "thong_bao_kiem_tra.docx"
SHEET_TEMPLATE = "phieu_kiem_tra.docx"
SIMULATED_BANNER = "DỮ LIỆU MÔ PHỎNG — không dùng để ban hành"
NO_DOSSIERS = "không phát sinh"
_WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")

DEFAULT_CONTENTS = (
    "Việc công khai, niêm yết thủ tục hành chính; tiếp nhận, giải quyết và trả kết quả hồ sơ đúng hạn.",
    "Việc xin lỗi khi giải quyết hồ sơ trễ hạn; yêu cầu bổ sung hồ sơ đúng quy định.",
    "Số hóa hồ sơ, kết quả giải quyết; dịch vụ công trực tuyến, thanh toán trực tuyến, bưu chính công ích.",
    "Kiểm tra xác suất hồ sơ thủ tục hành chính (bóc mẫu) trên Hệ thống thông tin giải quyết thủ tục hành "
    "chính của tỉnh và Cổng Dịch vụ công quốc gia.",
)
DEFAULT_PREPARE = (
    "Báo cáo kết quả thực hiện nhiệm vụ cải cách hành chính của đơn vị theo đề cương, gửi trước ngày kiểm tra "
    "theo thời hạn ở bảng trên.",
    "Hồ sơ thủ tục hành chính theo danh sách bóc mẫu, sổ theo dõi hồ sơ, phiếu yêu cầu bổ sung và phiếu xin lỗi.",
    "Bố trí lãnh đạo đơn vị và công chức trực tiếp giải quyết thủ tục hành chính làm việc với Đoàn kiểm tra.",
)
DEFAULT_RECIPIENTS = ("Các đơn vị được kiểm tra", "Chủ tịch, các Phó Chủ tịch UBND phường",
                      "Thành viên Đoàn kiểm tra")


def vn_date(d: date | None) -> str:
    return "" if d is None else f"{d:%d/%m/%Y}"


def vn_day(d: date) -> str:
    return f"{_WEEKDAYS[d.weekday()]}, {d:%d/%m/%Y}"


def issuing_body(ward_name: str) -> str:
    """'Phường Hòa An (mô phỏng)' -> 'ỦY BAN NHÂN DÂN\\nPHƯỜNG HÒA AN'."""
    import re

    name = re.sub(r"\s*\(.*?\)\s*", " ", ward_name).strip()
    return f"ỦY BAN NHÂN DÂN\n{name.upper()}"


# ----------------------------------------------------------------------------- templates


def _header(doc) -> None:
    nd.add_heading_block(doc, issuing_body="{{ issuing_body }}", number="{{ number_line }}",
                         place_date="{{ date_line }}", superior_body=None)


def _banner(doc) -> None:
    nd.add_control_paragraph(doc, "{%p if simulated %}")
    p = nd.add_body_paragraph(doc, "{{ simulated_banner }}", bold=True, indent=False)
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    nd.add_control_paragraph(doc, "{%p endif %}")


def _closing(doc) -> None:
    nd.add_closing_block(
        doc,
        recipients_tag_lines=["{%p for line in recipients %}", "{{ line }}", "{%p endfor %}"],
        signature_tag_lines=["{%p for line in signature %}", "{{ line }}", "{%p endfor %}"],
        signer_name="{{ signer_name }}")


def build_notice_template(path: str | Path) -> Path:
    """The THÔNG BÁO kế hoạch kiểm tra template (docxtpl tags in an ND 30 layout)."""
    doc = nd.new_document()
    _header(doc)
    _banner(doc)
    nd.add_title(doc, "THÔNG BÁO", ["Kế hoạch kiểm tra công tác cải cách hành chính năm {{ year }}",
                                    "{{ wave_title }}"])
    b = nd.add_body_paragraph
    b(doc, "Thực hiện Kế hoạch kiểm tra công tác cải cách hành chính năm {{ year }}, Ủy ban nhân dân "
           "{{ ward_short }} thông báo kế hoạch kiểm tra {{ wave_title_lower }} như sau:")
    b(doc, "1. Mục đích, yêu cầu", bold=True)
    b(doc, "Đánh giá khách quan, công khai việc thực hiện nhiệm vụ cải cách hành chính và giải quyết thủ tục "
           "hành chính của các đơn vị; kịp thời chấn chỉnh tồn tại, hạn chế. {{ selection_text }}")
    b(doc, "2. Đơn vị và thời gian kiểm tra", bold=True)
    b(doc, "Thời gian: từ ngày {{ wave_start }} đến ngày {{ wave_end }}.")
    nd.add_table(doc, ["STT", "Đơn vị được kiểm tra", "Ngày kiểm tra", "Hạn gửi báo cáo", "Cách chọn"],
                 (12, 50, 33, 25, 45),
                 rows=[["{%tr for v in visits %}", "", "", "", ""],
                       ["{{ v.stt }}", "{{ v.unit }}", "{{ v.visit }}", "{{ v.report_due }}", "{{ v.how }}"],
                       ["{%tr endfor %}", "", "", "", ""]])
    b(doc, "3. Nội dung kiểm tra", bold=True)
    nd.add_control_paragraph(doc, "{%p for item in contents %}")
    b(doc, "- {{ item }}")
    nd.add_control_paragraph(doc, "{%p endfor %}")
    b(doc, "4. Đơn vị được kiểm tra chuẩn bị", bold=True)
    nd.add_control_paragraph(doc, "{%p for item in prepare %}")
    b(doc, "- {{ item }}")
    nd.add_control_paragraph(doc, "{%p endfor %}")
    b(doc, "5. Thời hạn báo cáo", bold=True)
    b(doc, "Báo cáo trước khi kiểm tra gửi về {{ standing_unit }} chậm nhất vào ngày ghi ở bảng trên "
           "({{ report_lead }} ngày làm việc trước ngày kiểm tra).")
    nd.add_control_paragraph(doc, "{%p for item in self_report %}")
    b(doc, "- {{ item }}")
    nd.add_control_paragraph(doc, "{%p endfor %}")
    b(doc, "Giao {{ standing_unit }} là cơ quan thường trực, phối hợp với các đơn vị triển khai thực hiện. Đề nghị "
           "các đơn vị nghiêm túc thực hiện./.")
    _closing(doc)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


def build_sheet_template(path: str | Path) -> Path:
    """The per-unit inspection sheet (PHIẾU KIỂM TRA) template: the outline's figures, or
    "không phát sinh"."""
    doc = nd.new_document()
    _header(doc)
    _banner(doc)
    nd.add_title(doc, "PHIẾU KIỂM TRA", ["Công tác cải cách hành chính, giải quyết thủ tục hành chính",
                                         "{{ unit_name }}"])
    b = nd.add_body_paragraph
    b(doc, "Kỳ số liệu: {{ period_label }}. Ngày kiểm tra: {{ visit_date }}.")
    b(doc, "I. Số liệu giải quyết thủ tục hành chính (điền sẵn từ Hệ thống, Đoàn kiểm tra đối chiếu)", bold=True)
    nd.add_control_paragraph(doc, "{%p if has_dossiers %}")
    nd.add_table(doc, ["STT", "Chỉ tiêu", "Số hồ sơ", "Đối chiếu thực tế"], (14, 96, 25, 30),
                 rows=[["{%tr for r in figures %}", "", "", ""],
                       ["{{ r.stt }}", "{{ r.label }}", "{{ r.value }}", ""],
                       ["{%tr endfor %}", "", "", ""]])
    nd.add_control_paragraph(doc, "{%p else %}")
    b(doc, "Trong kỳ, đơn vị {{ no_dossiers }} hồ sơ thủ tục hành chính.")
    nd.add_control_paragraph(doc, "{%p endif %}")
    b(doc, "II. Nhận xét của Đoàn kiểm tra", bold=True)
    b(doc, "……………………………………………………………………………………………………………")
    b(doc, "III. Tồn tại, hạn chế và yêu cầu khắc phục", bold=True)
    b(doc, "……………………………………………………………………………………………………………")
    _closing(doc)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


def build_templates(folder: str | Path = nd.TEMPLATES) -> list[Path]:
    folder = Path(folder)
    return [build_notice_template(folder / NOTICE_TEMPLATE), build_sheet_template(folder / SHEET_TEMPLATE)]


# ------------------------------------------------------------------------------- notices


@dataclass(frozen=True)
class NoticeInfo:
    """What a document needs beyond the plan: who issues it, its number, date and signer."""

    ward_name: str  # "Phường Hòa An"
    place: str  # "Hòa An"
    year: int
    issue_date: date | None = None  # None: left for the document system
    number: int | str | None = None
    symbol: str = "TB-UBND"
    signer: nd.Signer | None = None
    recipients: Sequence[str] = DEFAULT_RECIPIENTS
    archive: str = "VT, VHXH"
    standing_unit: str = "Phòng Văn hóa - Xã hội"
    simulated: bool = False
    contents: Sequence[str] = DEFAULT_CONTENTS
    prepare: Sequence[str] = DEFAULT_PREPARE
    templates_dir: str | Path | None = None


def _common(info: NoticeInfo) -> dict:
    from docxtpl import Listing

    return {
        "issuing_body": Listing(issuing_body(info.ward_name)),
        "number_line": nd.number_line(info.number, info.symbol),
        "date_line": nd.date_line(info.place, info.issue_date, info.year),
        "year": info.year,
        "simulated": info.simulated,
        "simulated_banner": SIMULATED_BANNER,
        "recipients": nd.recipient_lines(info.recipients, info.archive),
        "signature": nd.signature_lines(info.signer),
        "signer_name": info.signer.name if info.signer else "",
    }


def notice_context(wave: WavePlan, info: NoticeInfo, *, report_lead_days: int = 5,
                   self_report_deadlines: Sequence[Deadline] = (), selection_id: int | None = None) -> dict:
    ctx = _common(info)
    short = issuing_body(info.ward_name).split("\n", 1)[1].capitalize()
    short = " ".join(w.capitalize() if i else w.lower() for i, w in enumerate(short.split()))
    if wave.draw is not None:
        selection = (f"Đơn vị được kiểm tra chọn bằng rút thăm công khai theo RFC 3797 (khóa {wave.draw.key}, "
                     f"SHA-256 danh sách {wave.draw.pool_sha256[:16]}…)")
        selection += f", mã lựa chọn {selection_id}; ai cũng có thể kiểm chứng lại." if selection_id else "."
    else:
        selection = "Đơn vị được kiểm tra theo kế hoạch (không cần rút thăm)."
    ctx.update({
        "ward_short": short,
        "wave_title": f"Đợt {wave.wave.number}",
        "wave_title_lower": f"đợt {wave.wave.number}",
        "wave_start": vn_date(wave.wave.start),
        "wave_end": vn_date(wave.wave.end),
        "selection_text": selection,
        "visits": [{"stt": i, "unit": v.unit_name, "visit": vn_day(v.visit_date), "report_due": vn_date(v.report_due),
                    "notice": vn_date(v.notice_date), "how": v.reasons[0].split(",")[0] if v.reasons else ""}
                   for i, v in enumerate(wave.visits, start=1)],
        "contents": list(info.contents),
        "prepare": list(info.prepare),
        "standing_unit": info.standing_unit,
        "report_lead": report_lead_days,
        "self_report": [f"Báo cáo tự kiểm tra gửi trước ngày {vn_date(d.due)}." for d in self_report_deadlines],
    })
    return ctx


def render_notice(wave: WavePlan, info: NoticeInfo, out: str | Path, *, report_lead_days: int = 5,
                  self_report_deadlines: Sequence[Deadline] = (), selection_id: int | None = None) -> Path:
    """The notice of one wave (THÔNG BÁO kế hoạch kiểm tra) as .docx at `out`."""
    ctx = notice_context(wave, info, report_lead_days=report_lead_days,
                         self_report_deadlines=self_report_deadlines, selection_id=selection_id)
    return nd.render_template(NOTICE_TEMPLATE, ctx, out, info.templates_dir)


# -------------------------------------------------------------------------------- sheets

#: (label, how to read it from a `cchc stats --json` object), in the outline's order. A value is a
#: key, or a tuple of keys tried in turn (the outline's own name, then the stats JSON's).
SHEET_ROWS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("1", "Tổng số hồ sơ tiếp nhận trong kỳ", ("received",)),
    ("1.1", "Tiếp nhận trực tuyến", ("received_online",)),
    ("", "- Trực tuyến một phần", ("received_online_partial",)),
    ("", "- Trực tuyến toàn trình", ("received_online_full",)),
    ("1.2", "Tiếp nhận trực tiếp, qua dịch vụ bưu chính công ích", ("received_in_person_postal",)),
    ("", "- Trong đó qua dịch vụ bưu chính công ích", ("received_postal", "postal_rate_num")),
    ("1.3", "Kỳ trước chuyển sang", ("carried_over",)),
    ("2", "Đã giải quyết", ("resolved",)),
    ("2.1", "Trước hạn", ("early",)),
    ("2.2", "Đúng hạn", ("on_time",)),
    ("2.3", "Quá hạn", ("late",)),
    ("2.4", "Trả lại (không giải quyết)", ("returned_unresolved",)),
    ("3", "Đang giải quyết", ("pending",)),
    ("3.1", "Trong hạn", ("pending_in_time",)),
    ("3.2", "Quá hạn", ("pending_overdue",)),
    ("3.3", "Tạm dừng chờ bổ sung, chưa giải quyết", ("supplement_unresolved",)),
    ("4", "Số hóa thành phần hồ sơ", ("digitized_components",)),
    ("5", "Số hóa kết quả giải quyết", ("digitized_results",)),
    ("6", "Thanh toán trực tuyến", ("paid_online", "online_payment_rate_num")),
    ("7", "Được người dân đánh giá", ("evaluated",)),
    ("7.1", "Hài lòng", ("satisfied",)),
    ("8", "Hồ sơ trễ hạn có phiếu xin lỗi", ("apology", "apology_rate_num")),
    ("", "- Trên tổng số hồ sơ trễ hạn", ("apology_rate_den",)),
)


def sheet_figures(stats: Mapping | None) -> list[dict] | None:
    """The sheet's rows from a `cchc stats --json` unit object (or an outline dict); None when the
    unit has no dossier in the period (nothing received, carried over, resolved or pending)."""
    if not stats or not any(int(stats.get(k) or 0) for k in ("received", "carried_over", "resolved", "pending")):
        return None
    rows = []
    for stt, label, keys in SHEET_ROWS:
        key = next((k for k in keys if k in stats), None)
        value = format_int(stats[key]) if key is not None and stats[key] is not None else "—"
        rows.append({"stt": stt, "label": label, "value": value})
    return rows


@dataclass(frozen=True)
class SheetInfo:
    unit_name: str
    period_label: str
    notice: NoticeInfo
    visit_date: date | None = None
    extra: dict = field(default_factory=dict)


def sheet_context(info: SheetInfo, stats: Mapping | None) -> dict:
    ctx = _common(info.notice)
    figures = sheet_figures(stats)
    ctx.update({
        "unit_name": info.unit_name,
        "period_label": info.period_label,
        "visit_date": vn_date(info.visit_date) or "……/……/……",
        "has_dossiers": figures is not None,
        "figures": figures or [],
        "no_dossiers": NO_DOSSIERS,
        **info.extra,
    })
    return ctx


def render_sheet(info: SheetInfo, stats: Mapping | None, out: str | Path) -> Path:
    """The unit's inspection sheet (.docx): the outline's figures, or "không phát sinh"."""
    return nd.render_template(SHEET_TEMPLATE, sheet_context(info, stats), out, info.notice.templates_dir)


# -------------------------------------------------------------------------- sample (.xlsx)

SAMPLE_HEADERS = ("STT", "Mã hồ sơ", "Mã TTHC", "Tên thủ tục", "Ngày tiếp nhận", "Hạn trả kết quả",
                  "Ngày kết thúc", "Trạng thái", "Lý do chọn")


def _status_vi(v) -> str:
    try:
        return STATUS_NAMES_VI[Status(int(v))]
    except (ValueError, TypeError):
        return ""


def _cell_date(v):
    if v is None or (isinstance(v, float) and v != v) or v is pd.NaT:
        return None
    ts = pd.Timestamp(v)
    return None if pd.isna(ts) else ts.to_pydatetime()


def write_sample_xlsx(sample: SamplePlan, lot: pd.DataFrame, out: str | Path, *, unit_name: str,
                      period_label: str, selection_id: int | None = None, simulated: bool = False) -> Path:
    """The sampled dossiers of one unit (.xlsx): code, procedure, dates, status, why chosen. `lot`
    holds the sampled dossiers' facts by code (`inspections.sampled_facts`; other rows are ignored);
    no other column is written."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side

    facts = {}
    if len(lot):
        wanted = lot[lot["code"].isin({r.code for r in sample.rows})]
        facts = wanted.drop_duplicates("code").set_index("code").to_dict("index")
    wb = Workbook()
    ws = wb.active
    ws.title = "Hồ sơ bóc mẫu"
    font, bold = Font(name=nd.FONT, size=12), Font(name=nd.FONT, size=12, bold=True)
    lines = ["DANH SÁCH HỒ SƠ BÓC MẪU KIỂM TRA", f"Đơn vị: {unit_name}", f"Kỳ: {period_label}",
             f"Cỡ lô: {format_int(sample.lot_size)} hồ sơ; cỡ mẫu ngẫu nhiên (ISO 2859-1, mức II hoặc cố định): "
             f"{format_int(sample.sample_size)}; hồ sơ rủi ro cao lấy {format_int(sample.high_risk_taken)}/"
             f"{format_int(sample.high_risk_count)}"]
    if sample.draws:
        keys = sorted({rec.key for _, rec in sample.draws})
        lines.append("Rút ngẫu nhiên RFC 3797, khóa: " + "; ".join(keys)
                     + (f" (mã lựa chọn {selection_id})" if selection_id else ""))
    if simulated:
        lines.append("DỮ LIỆU MÔ PHỎNG — không dùng để kiểm tra thật")
    for i, text in enumerate(lines, start=1):
        ws.cell(row=i, column=1, value=text).font = Font(name=nd.FONT, size=13, bold=i == 1)
    head = len(lines) + 2
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for j, h in enumerate(SAMPLE_HEADERS, start=1):
        c = ws.cell(row=head, column=j, value=h)
        c.font, c.border = bold, border
        c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for n, r in enumerate(sample.rows, start=1):
        f = facts.get(r.code, {})
        values = [n, r.code, r.procedure_code, str(f.get("procedure_name") or ""), _cell_date(f.get("received_at")),
                  _cell_date(f.get("due_at")), _cell_date(f.get("end_at")), _status_vi(f.get("status")), r.reason]
        for j, v in enumerate(values, start=1):
            c = ws.cell(row=head + n, column=j, value=v)
            c.font, c.border = font, border
            if j in (5, 6, 7):
                c.number_format = "dd/mm/yyyy hh:mm"
            c.alignment = Alignment(vertical="top", wrap_text=j in (4, 9))
    if not sample.rows:
        ws.cell(row=head + 1, column=1, value=f"Không có hồ sơ để bóc mẫu ({NO_DOSSIERS}).").font = font
    for j, w in enumerate((6, 30, 14, 40, 17, 17, 17, 20, 60), start=1):
        ws.column_dimensions[ws.cell(row=head, column=j).column_letter].width = w
    ws.freeze_panes = ws.cell(row=head + 1, column=1)
    ws.print_title_rows = f"{head}:{head}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out
