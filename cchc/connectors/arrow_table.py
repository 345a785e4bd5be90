"""One query into one typed Arrow table through an ADBC driver (imports pyarrow and the driver only).

For SQLite this runs in a separate process (see `store.arrow_read`): the ADBC SQLite driver carries
its own copy of the SQLite library, and two copies in one process break each other's POSIX file
locks ("How To Corrupt An SQLite Database File", §2.2.1). As a process:

    python -m cchc.connectors.arrow_table < {"driver", "target", "query", "columns"} (JSON)

streams the typed batches as Arrow IPC to stdout (see `main`).
PostgreSQL reads call `read_table` in-process.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

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


def _scalar(value, t: pa.DataType) -> pa.Scalar:
    """A scalar of type `t` built from its buffers: pyarrow's conversion of a Python value (`pa.scalar`,
    `pa.array`, a compute function given a Python value or a scalar of another type) imports pandas,
    which the SQLite helper process never needs (~50 MB and a fifth of a second per helper)."""
    key = (value, t)
    got = _SCALARS.get(key)
    if got is not None:
        return got
    if value is None:
        got = pa.nulls(1, t)[0]
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        data = str(value).encode()
        width = 8 if pa.types.is_large_string(t) else 4
        offsets = (0).to_bytes(width, "little") + len(data).to_bytes(width, "little")
        got = pa.Array.from_buffers(t, 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)])[0]
    elif pa.types.is_integer(t):
        raw = int(value).to_bytes(t.bit_width // 8, "little", signed=pa.types.is_signed_integer(t))
        got = pa.Array.from_buffers(t, 1, [None, pa.py_buffer(raw)])[0]
    elif pa.types.is_boolean(t):
        got = pa.Array.from_buffers(t, 1, [None, pa.py_buffer(b"\x01" if value else b"\x00")])[0]
    else:
        got = pa.scalar(value, t)
    _SCALARS[key] = got
    return got


_SCALARS: dict = {}


def _column(arr: pa.Array, kind: str, encode_labels: bool = True) -> pa.Array:
    t = arr.type
    if kind in ("text", "label"):
        if not pa.types.is_string(t):
            arr = arr.cast(pa.string())
        text = pc.fill_null(arr, _scalar("", pa.string()))
        return pc.dictionary_encode(text) if kind == "label" and encode_labels else text
    if kind == "time":
        if pa.types.is_timestamp(t):
            if t.tz is None:
                return arr.cast(pa.timestamp("us"))
            # cchc.domain.calendar.VN_TZ_NAME, written out: this helper process imports pyarrow only
            return pc.local_timestamp(arr.cast(pa.timestamp("us", tz="Asia/Ho_Chi_Minh")))
        if pa.types.is_null(t) or pa.types.is_integer(t):  # all NULL: SQLite reports int64
            return pa.nulls(len(arr), pa.timestamp("us"))
        text = pc.if_else(pc.equal(arr, _scalar("", t)), _scalar(None, t), arr)
        return text.cast(pa.timestamp("us"))
    if kind == "int":
        return pc.fill_null(arr, _scalar(0, t) if pa.types.is_integer(t) else 0).cast(pa.int16())
    if kind == "float":
        return arr.cast(pa.float64())
    if pa.types.is_boolean(t):  # bool
        return pc.fill_null(arr, _scalar(False, t))
    zero = _scalar(0, t) if pa.types.is_integer(t) else 0
    return pc.not_equal(pc.fill_null(arr, zero), zero)


def _owned(result: pa.Array, source: pa.Array) -> pa.Array:
    """`result` with buffers of its own. An imported batch is freed only when no array uses any of
    its buffers: a column kept as is (text without NULLs) would keep the whole batch, every other
    column's raw text included, alive until the end of the read."""
    src = {b.address for b in source.buffers() if b is not None}
    if any(b is not None and b.address in src for b in result.buffers()):
        return pa.concat_arrays([result, result.slice(0, 0)])  # concatenation copies
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


@contextmanager
def _sqlite_batches(target: str, query: str, batch_rows: int) -> Iterator[pa.RecordBatchReader]:
    """The query's rows from the ADBC SQLite driver through its low-level API (the DB-API module
    imports pyarrow.dataset and with it pandas). Nothing is bound: the store's reads write their
    parameters into the query (`store.arrow_read`), so that no Python value is converted here."""
    import adbc_driver_manager
    import adbc_driver_sqlite

    db = adbc_driver_sqlite.connect(target)
    conn = adbc_driver_manager.AdbcConnection(db)
    try:
        # wait for a writer or a WAL recovery, as the DB-API engine does
        with adbc_driver_manager.AdbcStatement(conn) as st:
            st.set_sql_query("PRAGMA busy_timeout = 30000")
            stream, _ = st.execute_query()
            pa.RecordBatchReader.from_stream(stream).read_all()
        with adbc_driver_manager.AdbcStatement(conn) as st:
            # SQLite has no column types: the driver infers them from the first batch.
            st.set_options(**{"adbc.sqlite.query.batch_rows": str(batch_rows)})
            st.set_sql_query(query)
            stream, _ = st.execute_query()
            reader = pa.RecordBatchReader.from_stream(stream)
            try:
                yield reader
            finally:
                reader.close()
    finally:
        conn.close()
        db.close()


@contextmanager
def _postgresql_batches(target: str, query: str) -> Iterator[Iterable[pa.RecordBatch]]:
    """The query's batches on a connection of this process's (`_pg_connection`); the connection is
    kept for the next read only when every batch was read. A kept connection that fails before any
    batch (the server restarted, the session was ended) is replaced once, on a new connection."""
    conn, reused = _pg_connection(target)
    done = False
    try:
        cur = conn.cursor()
        try:
            cur.execute(query)
        except Exception:
            if not reused:
                raise
            cur.close()
            conn.close()
            conn, reused = _pg_connection(target, fresh=True)
            cur = conn.cursor()
            cur.execute(query)
        with cur:
            yield cur.fetch_record_batch()
        done = True
    finally:
        if not (done and _keep_pg(target, conn)):
            conn.close()


#: Idle ADBC PostgreSQL connections of this process, by target (a connection costs ~40 ms to open,
#: a tenth of a sample's read); at most `_PG_IDLE` each. Keyed by process id: never a forked parent's.
_pg_idle: dict[tuple[int, str], list] = {}
_pg_lock = threading.Lock()
_PG_IDLE = 2


def _pg_connection(target: str, fresh: bool = False):
    """(connection, whether it was kept from an earlier read). A new one runs without JIT
    compilation: the store's reads are scans with simple filters, for which compiling (~40 ms for a
    sample's read) gains nothing (a year's read of a million dossiers: the same time either way)."""
    if not fresh:
        with _pg_lock:
            idle = _pg_idle.get((os.getpid(), target))
            if idle:
                return idle.pop(), True
    import adbc_driver_postgresql.dbapi as dbapi

    conn = dbapi.connect(target)
    try:
        with conn.cursor() as cur:
            cur.execute("SET jit = off")
        conn.commit()
    except Exception:  # noqa: BLE001 - a server without the setting (before PostgreSQL 11): read with its default
        try:
            conn.rollback()
        except Exception:  # noqa: BLE001 - a broken connection: the read itself reports it
            conn.close()
            raise
    return conn, False


def _keep_pg(target: str, conn) -> bool:
    try:
        conn.rollback()  # end the read's transaction: an idle connection holds no snapshot
    except Exception:  # noqa: BLE001 - a broken connection is closed, not kept
        return False
    with _pg_lock:
        idle = _pg_idle.setdefault((os.getpid(), target), [])
        if len(idle) >= _PG_IDLE:
            return False
        idle.append(conn)
    return True


@atexit.register
def close_idle(target: str | None = None) -> None:
    """Close this process's kept connections (to `target`, or all)."""
    with _pg_lock:
        keys = [k for k in _pg_idle if k[0] == os.getpid() and (target is None or k[1] == target)]
        conns = [c for k in keys for c in _pg_idle.pop(k)]
    for c in conns:
        try:
            c.close()
        except Exception:  # noqa: BLE001 - the process is ending
            pass


def typed_batches(driver: str, target: str, query: str, columns: Sequence[tuple[str, str]],
                  batch_rows: int = 65_536, encode_labels: bool = True) -> Iterator[list[pa.Array]]:
    """Run `query` (its parameters written in as literals: ADBC binds none) on `driver` ("sqlite": `target` is a file path;
    "postgresql": a libpq URI) and yield its rows batch by batch, each a list of arrays typed by
    `columns` ((name, kind) pairs in select order). Text NULL -> "", int NULL -> 0, bool NULL ->
    False, float and time NULL stay null; times naive (local wall clock); "label" columns
    dictionary-encoded, or plain text with `encode_labels=False`."""
    check_kinds(columns)
    opened = (_sqlite_batches(target, query, batch_rows) if driver == "sqlite"
              else _postgresql_batches(target, query))
    try:
        with opened as batches:
            for n, batch in enumerate(batches, start=1):
                arrays = [_owned(_column(batch.column(i), kind, encode_labels), batch.column(i))
                          for i, (_, kind) in enumerate(columns)]
                del batch
                yield arrays
                if n % 8 == 0:
                    _release_freed_memory()
    finally:
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


def read_table(driver: str, target: str, query: str, columns: Sequence[tuple[str, str]],
               batch_rows: int = 65_536) -> pa.Table:
    """`typed_batches` collected into one table."""
    return collect(typed_batches(driver, target, query, columns, batch_rows), columns)


def wire_schema(columns: Sequence[tuple[str, str]]) -> pa.Schema:
    """The helper's stream schema: the typed columns, labels as plain text (encoded by the reader)."""
    return pa.schema([(name, pa.string() if kind == "label" else TYPES[kind]) for name, kind in columns])


def _preload() -> None:
    """The SQLite driver imported before the spec is read: a helper started ahead then waits ready."""
    try:
        import adbc_driver_manager  # noqa: F401
        import adbc_driver_sqlite  # noqa: F401
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
            for arrays in typed_batches(spec["driver"], spec["target"], spec["query"], columns,
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
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # the stream and the peak are written: no interpreter teardown for the reader to wait on
