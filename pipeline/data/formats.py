"""Read a file of one of the data's formats, CSV, TSV, Parquet or JSON Lines (each may be gzipped), into an Arrow
table: the user's labelled texts (pipeline/data/rows.py makes rows of them) and predictions made elsewhere. Every
problem is one PipelineError line that names the file, the line, and what to do.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import re
import tempfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from pipeline.errors import PipelineError, first_line

FORMATS: tuple[str, ...] = (
    ".csv",
    ".tsv",
    ".parquet",
    ".jsonl",
    ".ndjson",
    ".csv.gz",
    ".tsv.gz",
    ".parquet.gz",
    ".jsonl.gz",
    ".ndjson.gz",
)
IN_CONFIG = "under [data] in your CONFIG file"
# pandas stores a named or non-default index as such a column; it is not the user's data.
PANDAS_INDEX = re.compile(r"^__index_level_\d+__$")


def read_file(path: Path, encoding: str, key_columns: list[str]) -> pa.Table:
    """The file's table. The key columns (text, label, split, id) stay text: "NA" is a text, and id "007" is not 7."""
    path = Path(path)
    return _reader(path)(path, _file_bytes(path), _codec(path, encoding), key_columns)


def read_predictions_file(path: Path, encoding: str, key_columns: list[str]) -> pa.Table:
    """A file of predictions made elsewhere (PREDICTIONS=), in any of the data's formats, as an Arrow table: its
    problems are the data's, named for PREDICTIONS=."""
    path = Path(path)
    try:
        return read_file(path, encoding, key_columns)
    except PipelineError as e:
        message = str(e).replace("data file", "predictions file").replace("labelled rows", "predictions")
        raise PipelineError(message.replace("with DATA=", "with PREDICTIONS=")) from None


def column_names(path: Path, encoding: str = "utf-8") -> list[str]:
    """The columns of a file in one of the data's formats, read from its header (or its first row) alone."""
    path = Path(path)
    name = path.name.lower()
    try:
        if name.endswith(".parquet"):
            return pq.read_schema(path).names
        if name.endswith(".parquet.gz"):
            return pq.read_schema(pa.BufferReader(_file_bytes(path))).names
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt", encoding=_codec(path, encoding), errors="replace", newline="") as f:
            if ".jsonl" in name or ".ndjson" in name:
                first = next((line for line in f if line.strip()), "{}")
                row = json.loads(first)
                return list(row) if isinstance(row, dict) else []
            delimiter = "\t" if ".tsv" in name else ","
            return next(csv.reader(f, delimiter=delimiter), [])
    except (OSError, EOFError, ValueError, pa.ArrowException):
        return []  # the step that reads the file says what is wrong with it


# --- which file, which codec -------------------------------------------------------------------------------------


def _reader(path: Path) -> Callable[[Path, bytes, str, list[str]], pa.Table]:
    name = path.name.lower()
    # Longest endings first, so that "x.csv.gz" is not taken for a plain ".gz".
    for ending in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(ending):
            return READERS[ending.removesuffix(".gz")]
    raise PipelineError(
        f"{path}: unknown data format; use .csv, .tsv, .parquet or .jsonl (each may be .gz), or the IMDB .tar.gz"
    )


def _codec(path: Path, encoding: str) -> str:
    try:
        info = codecs.lookup(encoding)
    except (LookupError, TypeError):
        info = None
    # Codecs such as "base64" or "rot13" exist but do not turn bytes into text.
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise PipelineError(
            f'{path}: unknown encoding "{encoding}"; set encoding = "utf-8" (or another Python codec name, '
            f'such as "latin-1" or "cp1252") {IN_CONFIG}'
        )
    return info.name


def _file_bytes(path: Path) -> bytes:
    """The file's content, decompressed if it ends in .gz: every format is then read from memory."""
    if not path.is_file():
        raise PipelineError(f"{path}: data file not found; pass an existing file with DATA=")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise PipelineError(f"{path}: cannot read the file ({e.strerror}); check its permissions") from None
    if path.name.lower().endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise PipelineError(f"{path}: not a readable gzip file ({first_line(e)}); pass a good copy") from None
    return data


def _as_utf8(path: Path, data: bytes, encoding: str) -> bytes:
    """The text as UTF-8 bytes, or an error naming the first line and byte the encoding cannot decode.

    Python decodes it: the readers would otherwise return undecodable columns as binary, or fail without a line.
    """
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        raise PipelineError(_encoding_message(path, data, encoding, e)) from None
    if encoding == "utf-8":
        return data.removeprefix(codecs.BOM_UTF8)
    return text.encode("utf-8")


def _encoding_message(path: Path, data: bytes, encoding: str, error: UnicodeDecodeError) -> str:
    before = data[: error.start].decode(encoding, errors="replace")
    line = before.count("\n") + 1
    # Bytes of the bad line before the bad byte, less what encoding "" costs: a BOM for utf-16 and utf-32.
    offset = len(before.rpartition("\n")[2].encode(encoding)) - len("".encode(encoding))
    try:
        data.decode("utf-8")
        suggestion = "utf-8"
    except UnicodeDecodeError:
        suggestion = "latin-1"
    return (
        f"{path}: line {line} is not valid {encoding} (byte 0x{data[error.start]:02x} at offset {offset} of the line); "
        f'set encoding = "{suggestion}" (or the file\'s encoding) {IN_CONFIG}'
    )


def _check_not_empty(path: Path, data: bytes) -> None:
    if not data or data.isspace():  # isspace() stops at the first other byte; strip() would copy the file
        raise PipelineError(f"{path}: the file is empty; pass a file with labelled rows with DATA=")


# --- CSV and TSV -------------------------------------------------------------------------------------------------


def _read_csv(path: Path, data: bytes, encoding: str, key_columns: list[str]) -> pa.Table:
    return _read_delimited(path, data, encoding, key_columns, ",")


def _read_tsv(path: Path, data: bytes, encoding: str, key_columns: list[str]) -> pa.Table:
    return _read_delimited(path, data, encoding, key_columns, "\t")


def _read_delimited(path: Path, data: bytes, encoding: str, key_columns: list[str], delimiter: str) -> pa.Table:
    data = _as_utf8(path, data, encoding)
    _check_not_empty(path, data)
    # One block for the whole file: a single long text cannot straddle blocks, type inference sees every row,
    # and it was the fastest block size on a 100 MB file. Arrow's block size is a 32-bit int.
    read_options = pcsv.ReadOptions(block_size=min(len(data) + 1, 1 << 30))
    parse_options = pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    # The pipeline's own columns stay text: "NA" is a text, not a missing value, and id "007" is not 7.
    convert_options = pcsv.ConvertOptions(column_types={name: pa.string() for name in key_columns})
    try:
        table = pcsv.read_csv(io.BytesIO(data), read_options, parse_options, convert_options)
    except pa.ArrowInvalid as e:
        problem = _csv_problem(path, data, delimiter)
        raise PipelineError(problem or f"{path}: cannot read the file ({first_line(e)}); fix the file") from None
    # Arrow accepts a quote left open to the end of the file as one long last field; an odd count of quotes is
    # the cheap hint that it may have happened, and the diagnostic pass then decides.
    if data.count(b'"') % 2 and (problem := _csv_problem(path, data, delimiter)):
        raise PipelineError(problem)
    if table.num_rows == 0:
        raise PipelineError(f"{path}: no rows below the header; add labelled rows or pass another file with DATA=")
    return _blank_strings_missing(table, key_columns)


def _csv_problem(path: Path, data: bytes, delimiter: str) -> str | None:
    """The first ragged row or never-closed quote, with its line: Arrow's errors give neither the line nor the cause.

    Python's csv module follows the same quoting rules; it only runs when something is wrong, since it is slow.
    """
    text = data.decode("utf-8")
    line_starts: list[int] = []  # offset in `text` of each physical line, to re-read a record from its first line

    def lines() -> Iterator[str]:
        offset = 0
        for line in io.StringIO(text, newline=""):
            line_starts.append(offset)
            offset += len(line)
            yield line

    reader = csv.reader(lines(), delimiter=delimiter)
    width = len(next(reader, []))
    end = reader.line_num
    last_start = None
    for record in reader:
        start, end = end + 1, reader.line_num
        if not record:  # an empty line, which Arrow skips too
            continue
        if len(record) != width:
            if _quote_never_closed(text[line_starts[start - 1] :], delimiter):
                return f"{path}: line {start}: a quote opened here is never closed; fix the file"
            return f"{path}: line {start} has {len(record)} fields, the header has {width}; fix the file"
        last_start = start
    if last_start and _quote_never_closed(text[line_starts[last_start - 1] :], delimiter):
        return f"{path}: line {last_start}: a quote opened here is never closed; fix the file"
    return None


def _quote_never_closed(tail: str, delimiter: str) -> bool:
    """Whether the first record of `tail` opens a quote that runs to the end of the file."""
    try:
        next(csv.reader(io.StringIO(tail, newline=""), delimiter=delimiter, strict=True), None)
    except csv.Error as e:
        return "unexpected end of data" in str(e)
    return False


def _blank_strings_missing(table: pa.Table, key_columns: list[str]) -> pa.Table:
    # An empty field is how CSV writes a missing value; the pipeline's own columns are checked for blanks later.
    for i, field in enumerate(table.schema):
        if pa.types.is_string(field.type) and field.name not in key_columns:
            column = table.column(i)
            blank = pc.equal(column, "")
            table = table.set_column(i, field, pc.if_else(blank, pa.scalar(None, pa.string()), column))
    return table


# --- Parquet and JSON Lines --------------------------------------------------------------------------------------


def _read_parquet(path: Path, data: bytes, encoding: str, key_columns: list[str]) -> pa.Table:
    # Parquet strings are UTF-8 by definition: the encoding setting is for text formats only.
    if not data:
        raise PipelineError(f"{path}: the file is empty; pass a file with labelled rows with DATA=")
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as e:
        # Arrow names the in-memory buffer it read from, which means nothing to the user.
        reason = re.sub(r"^Could not open Parquet input source '[^']*': ", "", first_line(e))
        raise PipelineError(f"{path}: cannot read the file as Parquet ({reason}); pass a good copy") from None
    return table.drop_columns([name for name in table.column_names if PANDAS_INDEX.match(name)])


def _read_json_lines(path: Path, data: bytes, encoding: str, key_columns: list[str]) -> pa.Table:
    data = _as_utf8(path, data, encoding)
    _check_not_empty(path, data)
    # DuckDB rather than Arrow: Arrow's JSON reader fails when a field holds a number in one row and a string in
    # another; DuckDB reads such a field as JSON. It reads files only, so the UTF-8 text goes to a temporary one.
    with tempfile.TemporaryDirectory(prefix="reviewlens-") as folder:
        file = Path(folder) / "data.jsonl"
        file.write_bytes(data)
        try:
            return _duckdb_json(file, len(data))
        except duckdb.Error as e:
            reason = first_line(e).replace(str(file), str(path))  # name the user's file, not the temporary one
    raise PipelineError(
        _json_problem(path, data) or f"{path}: cannot read the file as JSON Lines ({reason}); fix the file"
    )


def _duckdb_json(file: Path, size: int) -> pa.Table:
    con = duckdb.connect()
    try:
        relation = con.read_json(
            str(file),
            format="newline_delimited",
            records="true",
            sample_size=-1,  # every row decides a field's type, not the first 20,480
            maximum_object_size=min(max(size + 1, 1 << 24), (1 << 32) - 1),
        )
        columns = [_json_column(name, str(kind)) for name, kind in zip(relation.columns, relation.types, strict=True)]
        return relation.select(", ".join(columns)).to_arrow_table()
    finally:
        con.close()


def _json_column(name: str, kind: str) -> str:
    quoted = '"' + name.replace('"', '""') + '"'
    if kind == "JSON":  # a field of mixed types: strings unquoted, numbers as written, objects as JSON text
        return f"json_extract_string({quoted}, '$') AS {quoted}"
    if kind.endswith("]") or kind.startswith(("STRUCT", "MAP", "UNION")) or "JSON" in kind:
        return f"to_json({quoted})::VARCHAR AS {quoted}"
    if kind in ("HUGEINT", "UHUGEINT"):  # beyond 64 bits: Arrow would get decimals
        return f"{quoted}::DOUBLE AS {quoted}"
    return quoted


def _json_problem(path: Path, data: bytes) -> str | None:
    """The first line that is not one JSON object: DuckDB's errors count lines unreliably."""
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as e:
            return f"{path}: line {number} is not valid JSON ({e.msg} at column {e.colno}); fix the file"
        if not isinstance(value, dict):
            return f'{path}: line {number} is not a JSON object; each line must be one object like {{"text": ...}}'
    return None


READERS: dict[str, Callable[[Path, bytes, str, list[str]], pa.Table]] = {
    ".csv": _read_csv,
    ".tsv": _read_tsv,
    ".parquet": _read_parquet,
    ".jsonl": _read_json_lines,
    ".ndjson": _read_json_lines,
}
