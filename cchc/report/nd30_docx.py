"""Word documents in the layout of Nghị định 30/2020/NĐ-CP, Phụ lục I (DOMAIN.md §8).

Two halves:

- Layout helpers (python-docx) that BUILD a document or a template: `new_document` (A4 portrait,
  margins top/bottom 20 mm, left 30 mm, right 15 mm, Times New Roman 14 pt, page numbers from page 2
  centred in the header), `add_heading_block` (the header table: superior body, issuing body with a
  short rule, "Số: …"; Quốc hiệu, Tiêu ngữ with a rule, the italic place and date), `add_title`
  (document type and subject), `add_body_paragraph` (13–14 pt, justified, first-line indent
  1,27 cm, 6 pt after), `add_table`, `add_closing_block` ("Nơi nhận:" and the recipients on the
  left, the signature block on the right). Text may hold docxtpl/Jinja tags: a template is a
  document built with tags for its variable parts, which an officer can then edit in Word.
- Rendering: `render_template(name, context, out, templates_dir=None)` looks for `name` in the
  ward's `templates_dir` first, then in cchc/report/templates/, and renders it with docxtpl.

Text helpers: `nd30_date` ("ngày 05 tháng 01 năm 2026": a day below 10 and the months 1 and 2
take a leading zero), `date_line` ("Hòa An, ngày 05 tháng 3 năm 2026"), `number_line`
("Số: 12/TB-UBND"; without a number, blank space to fill in), `signature_lines` (TM. / KT.).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt

FONT = "Times New Roman"
BODY_PT = 14
PAGE_WIDTH_MM, PAGE_HEIGHT_MM = 210, 297
MARGINS_MM = {"top": 20, "bottom": 20, "left": 30, "right": 15}
TEXT_WIDTH_MM = PAGE_WIDTH_MM - MARGINS_MM["left"] - MARGINS_MM["right"]  # 165
FIRST_LINE_INDENT = Cm(1.27)
SPACE_AFTER = Pt(6)
HEADER_LEFT_MM, HEADER_RIGHT_MM = 62, TEXT_WIDTH_MM - 62
NATIONAL_TITLE = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
TEMPLATES = Path(__file__).resolve().parent / "templates"


class TemplateError(ValueError):
    """A template that cannot be found or rendered (one line naming it)."""


# ----------------------------------------------------------------------------------- text


def nd30_date(d: date | None, year: int | None = None) -> str:
    """'ngày 05 tháng 01 năm 2026', 'ngày 15 tháng 3 năm 2026'; None: blanks to fill in by hand."""
    if d is None:
        return f"ngày      tháng      năm {year or ''}".rstrip()
    day = f"{d.day:02d}" if d.day < 10 else str(d.day)
    month = f"{d.month:02d}" if d.month < 3 else str(d.month)
    return f"ngày {day} tháng {month} năm {d.year}"


def date_line(place: str, d: date | None, year: int | None = None) -> str:
    return f"{place}, {nd30_date(d, year)}"


def number_line(number: int | str | None, symbol: str) -> str:
    """'Số: 12/TB-UBND'; without a number, space for the document system's number."""
    return f"Số: {number}/{symbol}" if number not in (None, "") else f"Số:        /{symbol}"


@dataclass(frozen=True)
class Signer:
    name: str
    title: str = "Chủ tịch"  # e.g. "Chủ tịch UBND phường", "Phó Chủ tịch UBND phường"


def signature_lines(signer: Signer | None, authority: str = "TM. ỦY BAN NHÂN DÂN") -> list[str]:
    """The signature block's capitals: the authority, then "CHỦ TỊCH", or for a deputy
    "KT. CHỦ TỊCH" / "PHÓ CHỦ TỊCH" (Nghị định 30/2020, Phụ lục I)."""
    deputy = signer is not None and "phó" in signer.title.lower()
    return [authority, "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"] if deputy else [authority, "CHỦ TỊCH"]


def recipient_lines(recipients: Sequence[str], archive: str = "VT") -> list[str]:
    """'- …;' for each recipient, and last '- Lưu: VT, ….'"""
    lines = [f"- {r.strip().rstrip(';.')};" for r in recipients if r.strip()]
    return [*lines, f"- Lưu: {archive}."]


# --------------------------------------------------------------------------------- layout


def _fonts(run_or_style, size: float | None = None, bold: bool | None = None, italic: bool | None = None) -> None:
    font = run_or_style.font
    font.name = FONT
    if size is not None:
        font.size = Pt(size)
    if bold is not None:
        font.bold = bold
    if italic is not None:
        font.italic = italic
    element = run_or_style.element
    rpr = element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)


def new_document(first_page_numbered: bool = False):
    """An empty A4 portrait document with the decree's margins, Times New Roman 14 pt, and the
    page number (a PAGE field) centred in the header from page 2."""
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(PAGE_WIDTH_MM), Mm(PAGE_HEIGHT_MM)
    section.top_margin, section.bottom_margin = Mm(MARGINS_MM["top"]), Mm(MARGINS_MM["bottom"])
    section.left_margin, section.right_margin = Mm(MARGINS_MM["left"]), Mm(MARGINS_MM["right"])
    section.header_distance = section.footer_distance = Mm(10)
    normal = doc.styles["Normal"]
    _fonts(normal, BODY_PT)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.space_before = Pt(0)
    section.different_first_page_header_footer = not first_page_numbered
    p = section.header.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _page_field(p)
    return doc


def _page_field(paragraph) -> None:
    run = paragraph.add_run()
    _fonts(run, BODY_PT)
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "2"), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        elif text == " PAGE ":
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        else:
            el = OxmlElement("w:t")
            el.text = text
        run._r.append(el)


def _rule(paragraph, side: str = "bottom", indent_mm: float = 0) -> None:
    """A horizontal rule as the paragraph's border, shortened by `indent_mm` on both sides."""
    ppr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    line = OxmlElement(f"w:{side}")
    for k, v in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        line.set(qn(k), v)
    borders.append(line)
    ppr.append(borders)
    if indent_mm:
        paragraph.paragraph_format.left_indent = Mm(indent_mm)
        paragraph.paragraph_format.right_indent = Mm(indent_mm)


def _no_borders(table) -> None:
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    tbl_pr.append(borders)


def _para(container, text: str = "", size: float = BODY_PT, bold: bool = False, italic: bool = False,
          align=WD_ALIGN_PARAGRAPH.CENTER, first: bool = False):
    p = container.paragraphs[0] if first else container.add_paragraph()
    p.alignment = align
    p.paragraph_format.space_after = Pt(0)
    if text:
        run = p.add_run(text)
        _fonts(run, size, bold, italic)
    return p


def _widths(table, widths_mm: Sequence[float]) -> None:
    table.autofit = False
    for row in table.rows:
        for cell, w in zip(row.cells, widths_mm, strict=True):
            cell.width = Mm(w)


def add_heading_block(doc, *, issuing_body: str, number: str, place_date: str, superior_body: str | None = None):
    """The header table (Nghị định 30/2020, Phụ lục I, ô 1–5): left, the superior body (capitals,
    not bold, 13 pt; omitted when None), the issuing body (bold capitals, 13 pt) with a short rule
    and "Số: …"; right, the Quốc hiệu (bold 12 pt), the Tiêu ngữ (bold 13 pt) with a rule as long
    as the line, and the italic place and date (14 pt)."""
    table = doc.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _no_borders(table)
    _widths(table, (HEADER_LEFT_MM, HEADER_RIGHT_MM))
    left, right = table.rows[0].cells
    first = True
    if superior_body is not None:
        _para(left, superior_body, 13, first=True)
        first = False
    _para(left, issuing_body, 13, bold=True, first=first)
    _rule(_para(left, size=6), "top", indent_mm=HEADER_LEFT_MM * 0.33)
    _para(left, number, 13)
    _para(right, NATIONAL_TITLE, 12, bold=True, first=True)
    _para(right, MOTTO, 13, bold=True)
    _rule(_para(right, size=6), "top", indent_mm=(HEADER_RIGHT_MM - 58) / 2)  # the motto is ~58 mm long
    p = _para(right, place_date, 14, italic=True)
    p.paragraph_format.space_before = Pt(6)
    return table


def add_title(doc, doc_type: str, subject_lines: Sequence[str]):
    """The document type in bold capitals (14 pt) and its subject in bold below, a short rule under it."""
    p = _para(doc, doc_type, 14, bold=True)
    p.paragraph_format.space_before = Pt(18)
    last = p
    for line in subject_lines:
        last = _para(doc, line, 14, bold=True)
    _rule(_para(doc, size=6), "top", indent_mm=TEXT_WIDTH_MM * 0.38)
    return last


def add_body_paragraph(doc, text: str = "", *, bold: bool = False, italic: bool = False, indent: bool = True,
                       size: float = BODY_PT):
    """A body paragraph: justified, first-line indent 1,27 cm, 6 pt after."""
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    fmt = p.paragraph_format
    fmt.first_line_indent = FIRST_LINE_INDENT if indent else None
    fmt.space_after = SPACE_AFTER
    if text:
        _fonts(p.add_run(text), size, bold, italic)
    return p


def add_control_paragraph(doc, tag: str):
    """A paragraph holding only a docxtpl paragraph tag ("{%p for … %}"); docxtpl removes it."""
    p = doc.add_paragraph()
    _fonts(p.add_run(tag), BODY_PT)
    return p


def set_cell(cell, text: str, *, size: float = 13, bold: bool = False, italic: bool = False,
             align=WD_ALIGN_PARAGRAPH.LEFT) -> None:
    p = cell.paragraphs[0]
    p.alignment = align
    if text:
        _fonts(p.add_run(text), size, bold, italic)


def add_table(doc, headers: Sequence[str], widths_mm: Sequence[float], rows: Sequence[Sequence[str]] = (),
              size: float = 13):
    """A bordered table (Table Grid): bold centred headers, then `rows` (which may be one row of
    docxtpl "{%tr %}" tags and one of placeholders)."""
    table = doc.add_table(rows=1, cols=len(headers))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, h in zip(table.rows[0].cells, headers, strict=True):
        set_cell(cell, h, size=size, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    for values in rows:
        cells = table.add_row().cells
        for i, (cell, v) in enumerate(zip(cells, values, strict=True)):
            set_cell(cell, v, size=size, align=WD_ALIGN_PARAGRAPH.CENTER if i == 0 else WD_ALIGN_PARAGRAPH.LEFT)
    _widths(table, widths_mm)
    return table


def add_closing_block(doc, *, recipients_tag_lines: Sequence[str], signature_tag_lines: Sequence[str],
                      signer_name: str, sign_space_lines: int = 4):
    """Nơi nhận (bold italic 12 pt; recipients 11 pt) on the left, the signature block (bold
    capitals 14 pt, space to sign, the name in bold) on the right."""
    doc.add_paragraph()
    table = doc.add_table(rows=1, cols=2)
    _no_borders(table)
    _widths(table, (TEXT_WIDTH_MM * 0.5, TEXT_WIDTH_MM * 0.5))
    left, right = table.rows[0].cells
    _para(left, "Nơi nhận:", 12, bold=True, italic=True, align=WD_ALIGN_PARAGRAPH.LEFT, first=True)
    for line in recipients_tag_lines:
        _para(left, line, 11, align=WD_ALIGN_PARAGRAPH.LEFT)
    first = True
    for line in signature_tag_lines:
        _para(right, line, 14, bold=True, first=first)
        first = False
    for _ in range(sign_space_lines):
        _para(right, "", 14)
    _para(right, signer_name, 14, bold=True)
    return table


# ------------------------------------------------------------------------------ rendering


def find_template(name: str, templates_dir: str | Path | None = None) -> Path:
    """The ward's own copy (`templates_dir`) first, else the package's."""
    for folder in ([Path(templates_dir)] if templates_dir else []) + [TEMPLATES]:
        path = folder / name
        if path.is_file():
            return path
    where = f"{templates_dir} và {TEMPLATES}" if templates_dir else str(TEMPLATES)
    raise TemplateError(f"không tìm thấy mẫu văn bản {name} trong {where}")


@functools.lru_cache(maxsize=1)
def _docx_environment():
    """The jinja environment Word templates render with: as docxtpl's own (autoescaped), and a
    template's compiled form kept (the last 16 sources; compiling is a third of the rendering), so a
    process that renders a template again compiles it once."""
    import jinja2

    class Compiled(jinja2.Environment):
        def from_string(self, source, globals=None, template_class=None):  # noqa: A002 — jinja's name
            if globals is not None or template_class is not None or not isinstance(source, str):
                return super().from_string(source, globals, template_class)
            return _compiled(self, source)

    @functools.lru_cache(maxsize=16)
    def _compiled(env, source: str):
        return jinja2.Environment.from_string(env, source)

    return Compiled(autoescape=True)


def render_template(name: str, context: dict, out: str | Path, templates_dir: str | Path | None = None,
                    images: dict[str, tuple[bytes | str | Path, float]] | None = None) -> Path:
    """Render the docxtpl template `name` with `context` to `out` (folders created). `images`:
    context name -> (PNG bytes or a path, width in mm), inserted where the template has
    "{{ name }}" (a docxtpl InlineImage, which needs the template object, hence made here)."""
    from io import BytesIO

    from docxtpl import DocxTemplate, InlineImage
    from jinja2 import TemplateError as JinjaError

    path = find_template(name, templates_dir)
    try:
        tpl = DocxTemplate(str(path))
        context = dict(context)
        for key, (image, width_mm) in (images or {}).items():
            source = BytesIO(image) if isinstance(image, bytes) else str(image)
            context[key] = InlineImage(tpl, source, width=Mm(width_mm))
        tpl.render(context, jinja_env=_docx_environment(), autoescape=True)
    except JinjaError as e:
        raise TemplateError(f"mẫu văn bản {path}: lỗi khi điền nội dung ({' '.join(str(e).split())})") from None
    except Exception as e:  # not a Word document, or a broken one
        raise TemplateError(f"mẫu văn bản {path}: không đọc được ({type(e).__name__}: {e})") from None
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tpl.save(str(out))
    return out
