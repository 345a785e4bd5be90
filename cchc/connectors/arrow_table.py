"""One query into one typed Arrow table through an ADBC driver (imports pyarrow and the driver only).

For SQLite this runs in a separate process (see `store.arrow_read`): the ADBC SQLite driver carries
its own copy of the SQLite library, and two copies in one process break each other's POSIX file
locks ("How To Corrupt An SQLite Database File", §2.2.1). As a process:

    python -m cchc.connectors.arrow_table < {"driver", "target", "query", "values", "columns"} (JSON)

streams the typed batches as Arrow IPC to stdout (see `main`).
PostgreSQL reads call `read_table` in-process.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Sequence

import pyarrow as pa
import pyarrow.compute as pc

#: Column kinds; "label" is text with few distinct values (unit, procedure, field, officer),
#: dictionary-encoded (a pandas Categorical on the other side).
TYPES = {"text": pa.string(), "label": pa.dictionary(pa.int32(), pa.string()), "time": pa.timestamp("us"),
         "int": pa.int16(), "float": pa.float64(), "bool": pa.bool_()}
KINDS = tuple(TYPES)


def check_kinds(columns: Sequence[tuple[str, str]]) -> None:
    for _, kind in columns:
        if kind not in TYPES:
            raise ValueError(f"unknown column kind {kind!r}; expected one of {', '.join(KINDS)}")


def _column(arr: pa.Array, kind: str, encode_labels: bool = True) -> pa.Array:
    t = arr.type
    if kind in ("text", "label"):
        text = pc.fill_null(arr.cast(pa.string()) if not pa.types.is_string(t) else arr, "")
        return pc.dictionary_encode(text) if kind == "label" and encode_labels else text
    if kind == "time":
        if pa.types.is_timestamp(t):
            if t.tz is None:
                return arr.cast(pa.timestamp("us"))
            # cchc.domain.calendar.VN_TZ_NAME, written out: this helper process imports pyarrow only
            return pc.local_timestamp(arr.cast(pa.timestamp("us", tz="Asia/Ho_Chi_Minh")))
        if pa.types.is_null(t) or pa.types.is_integer(t):  # all NULL: SQLite reports int64
            return pa.nulls(len(arr), pa.timestamp("us"))
        text = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
        return text.cast(pa.timestamp("us"))
    if kind == "int":
        return pc.fill_null(arr, 0).cast(pa.int16())
    if kind == "float":
        return arr.cast(pa.float64())
    if pa.types.is_boolean(t):  # bool
        return pc.fill_null(arr, False)
    return pc.not_equal(pc.fill_null(arr, 0), 0)


def _owned(result: pa.Array, source: pa.Array) -> pa.Array:
    """`result` with buffers of its own. An imported batch is freed only when no array uses any of
    its buffers: a column kept as is (text without NULLs) would keep the whole batch, every other
    column's raw text included, alive until the end of the read."""
    src = {b.address for b in source.buffers() if b is not None}
    if any(b is not None and b.address in src for b in result.buffers()):
        return pa.concat_arrays([result, pa.array([], type=result.type)])  # concatenation copies
    return result


def _release_freed_memory() -> None:
    """Give the C heap's freed pages back to the system (glibc keeps what the drivers free: for a
    million dossiers read from PostgreSQL, ~700 MB of freed batches stayed resident). A no-op
    where there is no glibc."""
    global _malloc_trim
    if _malloc_trim is None:
        try:
            import ctypes

            _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim = None


def _connect(driver: str, target: str):
    if driver == "sqlite":
        import adbc_driver_sqlite.dbapi as dbapi

        conn = dbapi.connect(target)
        with conn.cursor() as cur:  # wait for a writer or a WAL recovery, as the DB-API engine does
            cur.execute("PRAGMA busy_timeout = 30000")
            cur.fetchall()
        return conn
    import adbc_driver_postgresql.dbapi as dbapi

    return dbapi.connect(target)


def typed_batches(driver: str, target: str, query: str, values: list, columns: Sequence[tuple[str, str]],
                  batch_rows: int = 65_536, encode_labels: bool = True) -> Iterator[list[pa.Array]]:
    """Run `query` (positional parameters `values`) on `driver` ("sqlite": `target` is a file path;
    "postgresql": a libpq URI) and yield its rows batch by batch, each a list of arrays typed by
    `columns` ((name, kind) pairs in select order). Text NULL -> "", int NULL -> 0, bool NULL ->
    False, float and time NULL stay null; times naive (local wall clock); "label" columns
    dictionary-encoded, or plain text with `encode_labels=False`."""
    check_kinds(columns)
    conn = _connect(driver, target)
    try:
        with conn.cursor() as cur:
            if driver == "sqlite":
                # SQLite has no column types: the driver infers them from the first batch.
                cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(batch_rows)})
            cur.execute(query, values)
            for n, batch in enumerate(cur.fetch_record_batch(), start=1):
                arrays = [_owned(_column(batch.column(i), kind, encode_labels), batch.column(i))
                          for i, (_, kind) in enumerate(columns)]
                del batch
                yield arrays
                if n % 8 == 0:
                    _release_freed_memory()
    finally:
        conn.close()
        _release_freed_memory()


def collect(batches: Iterable[Sequence[pa.Array]], columns: Sequence[tuple[str, str]]) -> pa.Table:
    """One table from typed batches (label columns encoded here if they came as text): memory
    holds the typed columns and the batch at hand."""
    parts: list[list[pa.Array]] = [[] for _ in columns]
    for arrays in batches:
        for i, (_, kind) in enumerate(columns):
            arr = arrays[i]
            if kind == "label" and not pa.types.is_dictionary(arr.type):
                arr = pc.dictionary_encode(arr)
            parts[i].append(arr)
    table = {}
    for i, (name, kind) in enumerate(columns):
        table[name] = pa.chunked_array(parts[i], type=TYPES[kind])
        parts[i] = []
    return pa.table(table).unify_dictionaries()


def read_table(driver: str, target: str, query: str, values: list, columns: Sequence[tuple[str, str]],
               batch_rows: int = 65_536) -> pa.Table:
    """`typed_batches` collected into one table."""
    return collect(typed_batches(driver, target, query, values, columns, batch_rows), columns)


def wire_schema(columns: Sequence[tuple[str, str]]) -> pa.Schema:
    """The helper's stream schema: the typed columns, labels as plain text (encoded by the reader)."""
    return pa.schema([(name, pa.string() if kind == "label" else TYPES[kind]) for name, kind in columns])


def _preload() -> None:
    """The SQLite driver imported before the spec is read: a helper started ahead then waits ready."""
    try:
        import adbc_driver_sqlite.dbapi  # noqa: F401
    except ImportError:  # reported by the read itself
        pass


def main() -> int:
    """The helper: the spec as JSON on stdin; the typed batches as an Arrow IPC stream on stdout,
    written as they come (the helper holds one batch); on stderr, a one-line reason and exit 1, or
    `cchc.helper_peak_kb=N` and exit 0."""
    try:
        _preload()
        spec = json.load(sys.stdin)
        columns = [tuple(c) for c in spec["columns"]]
        schema = wire_schema(columns)
        with pa.ipc.new_stream(sys.stdout.buffer, schema) as writer:
            for arrays in typed_batches(spec["driver"], spec["target"], spec["query"], spec["values"], columns,
                                        int(spec.get("batch_rows", 65_536)), encode_labels=False):
                writer.write_batch(pa.record_batch(arrays, schema=schema))
    except Exception as e:  # noqa: BLE001 - the parent reads the reason and takes the DB-API path
        print(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:500], file=sys.stderr)
        return 1
    print(f"{PEAK_KEY}={_peak_kb()}", file=sys.stderr)
    return 0


#: How the helper reports its peak resident memory (kB), last line of its stderr.
PEAK_KEY = "cchc.helper_peak_kb"


def proc_status_kb(key: str, pid: str = "self") -> int:
    """A memory figure from /proc/<pid>/status in kB ("VmRSS", "VmHWM"); 0 where it is missing."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _peak_kb() -> int:
    """This process's peak resident memory. VmHWM, not ru_maxrss: that one keeps the parent's
    size from before exec."""
    return proc_status_kb("VmHWM")


if __name__ == "__main__":
    sys.exit(main())
