"""`cchc plan`, `draw`, `verify-selection`, `complaint`, `spot-check`, `finding`: inspection
planning (issue 11). `plan` and `spot-check` run their flows; the others read or write the store."""

from __future__ import annotations

import os
from contextlib import contextmanager

from cchc.cli.checks import check_config
from cchc.cli.output import print_files, print_json
from cchc.errors import UsageError


def _cfg():
    from cchc.config import load_config

    return load_config(os.environ.get("CCHC_CONFIG"))


@contextmanager
def _inspections(cfg):
    """The ward's inspection records (the store migrated, disposed of on the way out)."""
    from cchc.connectors.store import Store
    from cchc.connectors.store.inspections import Inspections

    store = Store(cfg.database_url)
    try:
        store.migrate()
        yield Inspections(store)
    finally:
        store.dispose()


def _check_unit(cfg, code: str) -> None:
    if cfg.unit_by_code(code) is None:
        raise UsageError(f"--unit {code}: không có trong units của cấu hình / unknown unit "
                         f"(có / known: {', '.join(u.code for u in cfg.units)})")


def cmd_plan(args) -> int:
    from cchc.flows.plan_inspections import plan_inspections
    from cchc.pipeline.inspections import check_sources, inspection_of

    check_config()
    cfg = _cfg()
    inspection_of(cfg, args.year)
    sources = list(check_sources(args.sources))  # refused here, before any flow starts
    result = plan_inspections(sources=sources, year=args.year, wave=args.wave,
                              config_path=os.environ.get("CCHC_CONFIG"), source=args.source)
    if args.json:
        print_json({k: v for k, v in result.items() if k not in ("artifact_keys", "files")})
        return 0
    print(f"KẾ HOẠCH KIỂM TRA CCHC NĂM {result['year']} — {cfg.ward.name} — mã lựa chọn {result['selection_id']}")
    for w in result["waves"]:
        print(f"\nĐợt {w['number']} ({_vn(w['start'])}–{_vn(w['end'])}), mã lựa chọn {w['selection_id']}")
        for note in w["notes"]:
            print(f"  Lưu ý: {note}")
        for v in w["visits"]:
            print(f"  - {v['unit_name']}: kiểm tra {_vn(v['visit_date'])}, thông báo {_vn(v['notice_date'])}, "
                  f"báo cáo trước {_vn(v['report_due'])}")
            for r in v["reasons"]:
                print(f"      {r}")
    print("\nKiểm chứng / verify: cchc verify-selection " + str(result["selection_id"]))
    print("Artifacts: " + ", ".join(result["artifact_keys"]))
    print_files(result["files"])
    return 0


def _vn(iso: str) -> str:
    y, m, d = iso.split("-")
    return f"{d}/{m}/{y}"


def cmd_draw(args) -> int:
    from cchc.domain.draw import draw
    from cchc.pipeline.inspections import check_sources

    sources = check_sources(args.sources)
    if args.count > args.pool_size:
        raise UsageError(f"--count {args.count} lớn hơn --pool-size {args.pool_size} / count above the pool size")
    try:
        result = draw(args.pool_size, args.count, list(sources))
    except ValueError as e:
        raise UsageError(str(e)) from None
    selected = list(result.selected)
    if args.json:
        print_json({"key": result.key, "selected": selected})
    else:
        print(f"Khóa / key: {result.key}")
        print("Vị trí được chọn theo thứ tự rút / selected positions in order: " + ", ".join(map(str, selected)))
    return 0


def cmd_verify_selection(args) -> int:
    from cchc.domain.draw import published_sha256

    try:
        sha256 = published_sha256(args.sha256) if args.sha256 is not None else None
    except ValueError as e:
        raise UsageError(str(e)) from None
    if args.key is not None and not args.key.strip():
        raise UsageError("--key: không được để trống / empty key")
    cfg = _cfg()
    with _inspections(cfg) as ins:
        check = ins.verify_selection(args.id, sha256=sha256, key=args.key)
    word = "KHỚP / matches" if check.ok else "KHÔNG KHỚP / does not match"
    print(f"{word}: {check.reason}")
    return 0 if check.ok else 1


def cmd_complaint(args) -> int:
    from cchc.domain.inspection_risk import Complaint
    from cchc.domain.text import format_int

    cfg = _cfg()
    with _inspections(cfg) as ins:
        if args.action == "add":
            _check_unit(cfg, args.unit)
            if not args.summary.strip():
                raise UsageError("--summary không được để trống / empty summary")
            cid = ins.add_complaint(Complaint(args.unit, args.date or cfg.today(), args.category, args.summary,
                                              args.procedure, args.dossier))
            print(f"Đã ghi phản ánh số {cid} cho đơn vị {args.unit} (không lưu danh tính người phản ánh).")
            return 0
        result = ins.import_complaints(args.file, [u.code for u in cfg.units], encoding=args.encoding)
    print(f"Đã nhập {format_int(len(result.added))}/{format_int(result.rows_read)} phản ánh từ {args.file}.")
    for e in result.errors[:50]:
        print(f"  - {e}")
    return 0


def cmd_spot_check(args) -> int:
    from cchc.flows.spot_check import spot_check

    check_config()
    cfg = _cfg()
    if args.unit:
        _check_unit(cfg, args.unit)
    if (args.unit is None) != (args.reason is None):
        raise UsageError("--unit và --reason đi cùng nhau / --unit needs --reason")
    result = spot_check(sources=list(args.sources), unit=args.unit, reason=args.reason,
                        today=args.today.isoformat() if args.today else None,
                        config_path=os.environ.get("CCHC_CONFIG"))
    if args.json:
        print_json({k: v for k, v in result.items() if k != "artifact_keys"})
        return 0
    names = {u.code: u.name for u in cfg.units}
    print(f"KIỂM TRA ĐỘT XUẤT — {cfg.ward.name} — mã lựa chọn {result['selection_id']}")
    if not result["triggers"]:
        print("Không có căn cứ kiểm tra đột xuất nào.")
    for t in result["triggers"]:
        print(f"  - {names.get(t['unit'], t['unit'])}: {t['reason']} ({_vn(t['fired_on'])})")
    print("Artifacts: " + ", ".join(result["artifact_keys"]))
    return 0


def cmd_finding(args) -> int:
    from cchc.domain.text import format_int

    cfg = _cfg()
    with _inspections(cfg) as ins:
        if args.action == "add":
            _check_unit(cfg, args.unit)
            fid = ins.add_finding(args.unit, args.finding, args.remediation, args.responsible, args.deadline)
            print(f"Đã ghi kết luận số {fid} cho đơn vị {args.unit}.")
        elif args.action == "update":
            kw = {"status": args.status, "remediation": args.remediation, "responsible_unit": args.responsible}
            if args.deadline is not None:
                kw["deadline"] = args.deadline
            ins.update_finding(args.id, **kw)
            print(f"Đã cập nhật kết luận số {args.id}.")
        elif args.action == "import":
            result = ins.import_findings(args.file, [u.code for u in cfg.units], encoding=args.encoding)
            print(f"Đã nhập {format_int(len(result.added))}/{format_int(result.rows_read)} kết luận từ {args.file}.")
            for e in result.errors[:50]:
                print(f"  - {e}")
        else:
            rows = ins.findings(unit_code=args.unit, status=args.status, today=cfg.today())
            if args.json:
                print_json([{"id": f.id, "unit": f.unit_code, "finding": f.finding, "remediation": f.remediation,
                             "responsible_unit": f.responsible_unit,
                             "deadline": f.deadline.isoformat() if f.deadline else None, "status": f.status}
                            for f in rows])
            elif not rows:
                print("Chưa có kết luận nào.")
            else:
                for f in rows:
                    due = f" — hạn {f.deadline:%d/%m/%Y}" if f.deadline else ""
                    print(f"  [{f.id}] {f.unit_code}: {f.finding} — {f.status_vi}{due}"
                          + (f" — khắc phục: {f.remediation}" if f.remediation else ""))
    return 0
