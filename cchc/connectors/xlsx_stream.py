"""A streaming reader of .xlsx worksheets: rows of cell values, read as the sheet's XML is unzipped,
so a million-row export is never held in memory (openpyxl's read-only mode streams too, but spends
most of an import building a Python object per cell; python-calamine loads the whole sheet).

    with XlsxBook(path) as book:
        book.sheetnames, book.active           # names in workbook order, index of the active sheet
        for row in book.rows(0):               # tuples of cell values, row 1 first; a row missing
            ...                                # from the XML comes as (), so positions = Excel rows

Values are what openpyxl's read-only mode gives: str, int, float, bool, datetime (a number in a
date format, by the workbook's 1900/1904 epoch), timedelta ([h]:mm formats), None for a blank cell.

Rows are read by a regular expression for the shapes spreadsheet writers produce (a cell's
reference, style and type attributes, a value or an inline string); a row holding anything else
(rich text, a cell without a reference, unusual attribute order...) is parsed by lxml as XML, so
the fast path never changes what is read.
"""

from __future__ import annotations

import codecs
import posixpath
import re
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from html import unescape
from pathlib import Path

from lxml import etree

__all__ = ["XlsBook", "XlsxBook"]

_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CHUNK = 1 << 20


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


#: Column letters -> 0-based index, filled as letters are met (at most 16,384 of them).
_COLUMNS: dict[str, int] = {}


def _col_index(letters: str) -> int:
    i = _COLUMNS.get(letters)
    if i is None:
        i = 0
        for ch in letters:
            i = i * 26 + (ord(ch) - 64)
        i -= 1
        _COLUMNS[letters] = i
    return i


def _parse(data: bytes) -> etree._Element:
    return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True))


def _number(v: str):
    return float(v) if ("." in v or "E" in v or "e" in v) else int(v)


class _Book:
    """A workbook as a context manager: closed on leaving."""

    def close(self) -> None:  # pragma: no cover - each kind closes its own
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class XlsxBook(_Book):
    """An .xlsx workbook opened for streaming (see the module docstring). Raises what zipfile or
    lxml raise for a file that is not a workbook; the caller turns that into a user's message."""

    def __init__(self, path: str | Path):
        self._zip = zipfile.ZipFile(path)
        try:
            self._read_workbook()
            self._read_styles()
            self._sst: list[str] | None = None
            self._texts: dict[str, str] = {}
            self._done, self._size = 0, 1
        except Exception:
            self._zip.close()
            raise

    # -- the workbook's parts

    def _member(self, name: str) -> bytes | None:
        try:
            return self._zip.read(name)
        except KeyError:
            return None

    def _read_workbook(self) -> None:
        root_rels = _parse(self._zip.read("_rels/.rels"))
        book_path = next((r.get("Target") for r in root_rels if (r.get("Type") or "").endswith("/officeDocument")),
                         "xl/workbook.xml").lstrip("/")
        self._base = posixpath.dirname(book_path)
        wb = _parse(self._zip.read(book_path))
        rels_data = self._member(posixpath.join(self._base, "_rels", posixpath.basename(book_path) + ".rels"))
        targets: dict[str, str] = {}
        for r in (_parse(rels_data) if rels_data else ()):
            if (r.get("Type") or "").rsplit("/", 1)[-1] != "worksheet":
                continue
            t = r.get("Target") or ""
            targets[r.get("Id")] = t.lstrip("/") if t.startswith("/") else posixpath.normpath(
                posixpath.join(self._base, t))
        self.sheetnames: list[str] = []
        self._paths: list[str] = []
        self.epoch = datetime(1899, 12, 30)
        active_tab = 0
        position = -1
        self.active = 0
        for el in wb.iter():
            name = _local(el.tag)
            if name == "workbookPr" and el.get("date1904") in ("1", "true"):
                self.epoch = datetime(1904, 1, 1)
            elif name == "workbookView" and (el.get("activeTab") or "").isdigit():
                active_tab = int(el.get("activeTab"))
            elif name == "sheet":
                position += 1
                rid = el.get(f"{{{_REL_NS}}}id") or el.get("id")
                if rid in targets:  # a worksheet (not a chart sheet)
                    if position == active_tab:
                        self.active = len(self._paths)
                    self.sheetnames.append(el.get("name") or "")
                    self._paths.append(targets[rid])
        if not self._paths:
            raise KeyError("no worksheet")

    def _read_styles(self) -> None:
        from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format

        self._date_styles: set[str] = set()
        self._timedelta_styles: set[str] = set()
        data = self._member(posixpath.join(self._base, "styles.xml"))
        if data is None:
            return
        root = _parse(data)
        formats = dict(BUILTIN_FORMATS)
        for el in root.iter():
            if _local(el.tag) == "numFmt" and el.get("numFmtId", "").isdigit():
                formats[int(el.get("numFmtId"))] = el.get("formatCode") or ""
        xfs = next((el for el in root if _local(el.tag) == "cellXfs"), None)
        for i, xf in enumerate(xfs if xfs is not None else ()):
            fmt = formats.get(int(xf.get("numFmtId") or 0))
            if is_date_format(fmt):
                (self._timedelta_styles if is_timedelta_format(fmt) else self._date_styles).add(str(i))

    def _shared_strings(self) -> list[str]:
        if self._sst is None:
            self._sst = []
            name = posixpath.join(self._base, "sharedStrings.xml")
            if name in self._zip.namelist():
                with self._zip.open(name) as f:
                    for _, si in etree.iterparse(f, events=("end",), huge_tree=True, resolve_entities=False):
                        if _local(si.tag) == "si":
                            self._sst.append(_string_item(si))
                            si.clear()
        return self._sst

    def close(self) -> None:
        self._zip.close()

    # -- rows

    def rows(self, index: int) -> Iterator[tuple]:
        """The sheet's rows from row 1, each a tuple of values (trailing blanks may be cut)."""
        sst = self._shared_strings()
        with self._zip.open(self._paths[index]) as f:
            self._size = max(self._zip.getinfo(self._paths[index]).file_size, 1)
            decode = codecs.getincrementaldecoder("utf-8")().decode
            first = f.read(_CHUNK)
            self._done = len(first)
            buf = decode(first)
            m = re.search(r"<(\w+:)?worksheet\b[^>]*>", buf)
            prefix = (m.group(1) or "") if m else ""
            nsdecls = " ".join(re.findall(r'xmlns(?::\w+)?="[^"]*"', m.group(0))) if m else ""
            fast = _fast_cell_re(prefix)
            mark, other = f"<{prefix}c ", (f"<{prefix}c>", f"<{prefix}c/")
            row_open, row_close = f"<{prefix}row", f"</{prefix}row>"
            row_head = re.compile(rf"<{prefix}row\b([^>]*?)(/?)>")
            row_num = re.compile(r'\br="(\d+)"')
            expected = 1
            while True:
                pieces = buf.split(row_close)
                buf = pieces.pop()  # what follows the last complete row: the next chunk completes it
                for piece in pieces:
                    at = piece.rfind(row_open)
                    if piece.count(row_open) > 1:  # rows written as <row .../> before this one
                        for h in row_head.finditer(piece, 0, at):
                            if h.group(2):
                                rn = row_num.search(h.group(1))
                                n = int(rn.group(1)) if rn else expected
                                while expected <= n:  # the gap before it, and the empty row itself
                                    expected += 1
                                    yield ()
                    h = row_head.match(piece, at)
                    rn = row_num.search(h.group(1))
                    n = int(rn.group(1)) if rn else expected
                    while expected < n:
                        expected += 1
                        yield ()
                    expected = n + 1
                    body = piece[h.end():]
                    if not body:
                        yield ()
                        continue
                    cells = fast.findall(body)
                    if cells and len(cells) == body.count(mark) and not (other[0] in body or other[1] in body):
                        yield self._fast_row(cells, sst)
                    else:
                        yield self._xml_row(body, prefix, nsdecls, sst)
                chunk = f.read(_CHUNK)
                self._done += len(chunk)
                if not chunk:
                    decode(b"", final=True)  # a truncated character: UnicodeDecodeError
                    return
                buf += decode(chunk)

    def fraction_read(self) -> float:
        """How much of the sheet being read has been unzipped (0..1), for a progress bar."""
        return min(self._done / self._size, 1.0)

    def _value(self, typ: str, style: str, v: str | None, sst: list[str]):
        if typ == "s":
            return sst[int(v)] if v else None
        if typ in ("str", "inlineStr", "e"):
            return self._text(v) if v and "&" in v else v
        if v is None or v == "":
            return None
        if typ == "b":
            return v in ("1", "true")
        if typ == "d":
            try:
                return datetime.fromisoformat(v)
            except ValueError:
                return v
        try:
            num = _number(v)
        except ValueError:
            return v
        if style and style in self._date_styles and num >= 61:  # past 1900's false leap day
            day = int(num)
            try:
                return self.epoch + timedelta(days=day, milliseconds=round((num - day) * 86_400_000))
            except OverflowError:
                return num  # outside the limits of dates: the number, which the import rejects
        if style and (style in self._date_styles or style in self._timedelta_styles):
            from openpyxl.utils.datetime import from_excel

            try:
                return from_excel(num, self.epoch, timedelta=style in self._timedelta_styles)
            except (OverflowError, ValueError):
                return num  # outside the limits of dates: the number, which the import rejects
        return num

    def _fast_row(self, cells: list[tuple], sst: list[str]) -> tuple:
        cols = _COLUMNS
        last = cols.get(cells[-1][0])
        out: list = [None] * ((_col_index(cells[-1][0]) if last is None else last) + 1)
        dates = self._date_styles
        epoch = self.epoch
        text_of, texts = self._text, self._texts
        for letters, s1, typ, s2, v, text in cells:
            i = cols.get(letters)
            if i is None:
                i = _col_index(letters)
            if i >= len(out):
                out.extend([None] * (i + 1 - len(out)))
            if typ == "inlineStr":
                out[i] = (texts.get(text) or text_of(text)) if "&" in text else text
            elif typ == "n" and v:  # a number written with its type (openpyxl does): as _value reads it
                try:
                    num = _number(v)
                except ValueError:
                    out[i] = v
                    continue
                style = s1 or s2
                if not style:
                    out[i] = num
                elif style in dates and num >= 61:  # past 1900's false leap day
                    day = int(num)
                    try:
                        out[i] = epoch + timedelta(days=day, milliseconds=round((num - day) * 86_400_000))
                    except OverflowError:
                        out[i] = num  # outside the limits of dates: the number, rejected by the import
                else:
                    out[i] = self._value(typ, style, v, sst)
            elif not typ and v:
                style = s1 or s2
                if not style:
                    out[i] = _number(v)
                elif style in dates and (num := float(v)) >= 61:  # past 1900's false leap day
                    day = int(num)
                    try:
                        out[i] = epoch + timedelta(days=day, milliseconds=round((num - day) * 86_400_000))
                    except OverflowError:
                        out[i] = _number(v)  # outside the limits of dates: the number, rejected by the import
                else:
                    out[i] = self._value(typ, style, v, sst)
            else:
                out[i] = self._value(typ, s1 or s2, v, sst)
        return tuple(out)

    def _text(self, escaped: str) -> str:
        """Entities replaced, remembered: exports repeat the same names on every row (writers such as
        openpyxl write every non-ASCII letter as a character reference)."""
        cache = self._texts
        out = cache.get(escaped)
        if out is None:
            if len(cache) >= 50_000:  # a bounded cache: memory stays flat
                cache.clear()
            out = cache[escaped] = unescape(escaped)
        return out

    def _xml_row(self, body: str, prefix: str, nsdecls: str, sst: list[str]) -> tuple:
        row = _parse(f"<{prefix}row {nsdecls}>{body}</{prefix}row>".encode())
        out: list = []
        col = -1
        for c in row:
            if _local(c.tag) != "c":
                continue
            ref = c.get("r")
            m = re.match(r"([A-Z]{1,3})", ref or "")
            col = _col_index(m.group(1)) if m else col + 1
            typ = c.get("t") or ""
            v = text = None
            for child in c:
                name = _local(child.tag)
                if name == "v":
                    v = child.text or ""
                elif name == "is":
                    text = _string_item(child)
            while len(out) <= col:
                out.append(None)
            if typ == "inlineStr":
                out[col] = text
            elif typ in ("str", "e"):  # lxml has already replaced the entities
                out[col] = v
            else:
                out[col] = self._value(typ, c.get("s") or "", v, sst)
        return tuple(out)


def _string_item(si) -> str:
    """The text of a shared or inline string (<t>, or rich-text runs <r><t>); phonetic runs left out."""
    parts = []
    for child in si:
        name = _local(child.tag)
        if name == "t":
            parts.append(child.text or "")
        elif name == "r":
            parts.extend(t.text or "" for t in child if _local(t.tag) == "t")
    return "".join(parts)


def _fast_cell_re(p: str) -> re.Pattern:
    """A cell as writers usually write it: r="B12", optional s= and t= (either order), then nothing,
    a <v> value, or an inline string of one plain <t>. Groups: letters, style, type, style, v, t."""
    return re.compile(
        rf'<{p}c r="([A-Z]{{1,3}})\d+"(?: s="(\d+)")?(?: t="(\w+)")?(?: s="(\d+)")?\s*'
        rf'(?:/>|>(?:<{p}v>([^<]*)</{p}v>|<{p}v/>|<{p}is><{p}t(?: xml:space="preserve")?>([^<]*)</{p}t></{p}is>)?'
        rf"</{p}c>)"
    )


class XlsBook(_Book):
    """An Excel 97-2003 .xls workbook, read by python-calamine, with XlsxBook's interface. The format
    holds at most 65,536 rows a sheet, so reading a sheet whole keeps memory bounded."""

    epoch = datetime(1899, 12, 30)
    active = 0

    def __init__(self, path: str | Path):
        from python_calamine import CalamineWorkbook

        self._wb = CalamineWorkbook.from_path(str(path))
        self.sheetnames: list[str] = list(self._wb.sheet_names)

    _done, _size = 0, 1

    def fraction_read(self) -> float:
        return min(self._done / self._size, 1.0)

    def rows(self, index: int) -> Iterator[tuple]:
        sheet = self._wb.get_sheet_by_index(index)
        self._size = max(sheet.height, 1)
        start = sheet.start
        for _ in range(start[0] if start else 0):  # rows above the data: positions = Excel rows
            yield ()
        pad = (None,) * (start[1] if start else 0)
        for row in sheet.iter_rows():
            self._done += 1
            yield pad + tuple(None if v == "" else v for v in row)

    def close(self) -> None:
        self._wb.close()
