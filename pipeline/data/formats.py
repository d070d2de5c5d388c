"""Read a user's own labelled texts from CSV, TSV, Parquet or JSON Lines (each may be gzipped).

read_table(path, settings) gives every row with its text and label; check_rows(frame, path) then checks that the
labels, splits and ids can train and test a classifier. Every problem is one PipelineError line that names the
file, the line or row, and what to do.
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
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from pipeline.errors import PipelineError

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
RESERVED_COLUMNS: frozenset[str] = frozenset(
    {
        "text_id",
        "source_id",
        "split",
        "subset",
        "label",
        "text",
        "n_chars",
        "n_tokens",
        "n_oov",
        "truncated",
        "polarity",
        "subjectivity",
        "n_negations",
        "n_contrasts",
        "model",
        "loss",
        "confidence",
        "correct",
        "probabilities",
        "predicted_label",
        "cluster",
        "x",
        "y",
    }
)
SPLITS = ("train", "validation", "test")
DEFAULTS = {
    "text_column": "text",
    "label_column": "label",
    "split_column": "split",
    "id_column": "id",
    "encoding": "utf-8",
    "drop_missing": False,
}
IN_CONFIG = "under [data] in your CONFIG file"
SHOWN = 5  # row numbers or values a message lists before "..."
# A whole label or id like "3.0" is the integer 3 written by a float column (pandas writes ints with gaps so).
WHOLE_NUMBER = r"^(-?\d+)\.0+$"
# pandas stores a named or non-default index as such a column; it is not the user's data.
PANDAS_INDEX = re.compile(r"^__index_level_\d+__$")


def read_table(path: Path, settings: dict) -> pd.DataFrame:
    """Every row of the user's file, checked.

    Columns: source_id (if the id column exists), text, label, split (if the split column exists), then the file's
    other columns with sanitized names. The index is each row's 0-based position among the file's data rows, so
    that check_rows can name rows even after drop_missing removed some.
    """
    path = Path(path)
    options = {**DEFAULTS, **settings}
    read = _reader(path)
    encoding = _codec(path, options["encoding"])
    data = _file_bytes(path)
    table = read(path, data, encoding, _key_columns(options))
    if table.num_rows == 0:
        raise PipelineError(f"{path}: the file has no rows; pass a file with labelled rows with DATA=")
    return _without_missing(path, _frame(path, table, options), options["drop_missing"])


def read_predictions_file(path: Path, encoding: str, key_columns: list[str]) -> pa.Table:
    """A file of predictions made elsewhere (PREDICTIONS=), in any of the data's formats, as an Arrow table: its
    problems are the data's, named for PREDICTIONS=."""
    path = Path(path)
    try:
        return _reader(path)(path, _file_bytes(path), _codec(path, encoding), key_columns)
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


def check_rows(frame: pd.DataFrame, path: Path) -> None:
    """Raise PipelineError if the labels, splits or ids cannot train and test a classifier.

    Row numbers in the messages are 1-based positions in the file: the frame's index (from read_table) plus one.
    """
    if frame.empty:
        raise PipelineError(f"{path}: no rows to train on; pass a file with labelled rows with DATA=")
    if "split" in frame:
        _check_splits(frame, path)
    if "source_id" in frame:
        _check_ids(frame, path)
    _check_classes(frame, path)


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
            raise PipelineError(f"{path}: not a readable gzip file ({_first_line(e)}); pass a good copy") from None
    return data


def _key_columns(options: dict) -> list[str]:
    return [options[key] for key in ("text_column", "label_column", "split_column", "id_column")]


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


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:200] if lines else type(error).__name__


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
        raise PipelineError(problem or f"{path}: cannot read the file ({_first_line(e)}); fix the file") from None
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
        reason = re.sub(r"^Could not open Parquet input source '[^']*': ", "", _first_line(e))
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
            reason = _first_line(e).replace(str(file), str(path))  # name the user's file, not the temporary one
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


# --- the frame ---------------------------------------------------------------------------------------------------


def _frame(path: Path, table: pa.Table, options: dict) -> pd.DataFrame:
    names = table.column_names
    text = _required_column(path, names, options["text_column"], "text_column", "text")
    label = _required_column(path, names, options["label_column"], "label_column", "label")
    split = _optional_column(names, options["split_column"])
    ident = _optional_column(names, options["id_column"])
    columns: dict[str, pa.ChunkedArray] = {}
    if ident is not None:
        columns["source_id"] = _whole_numbers_plain(pc.utf8_trim_whitespace(_text_column(path, table, ident)))
    columns["text"] = _text_column(path, table, text)
    columns["label"] = _whole_numbers_plain(pc.utf8_trim_whitespace(_text_column(path, table, label)))
    if split is not None:
        columns["split"] = pc.utf8_lower(pc.utf8_trim_whitespace(_text_column(path, table, split)))
    others = [i for i in range(len(names)) if i not in (text, label, split, ident)]
    for i, name in zip(others, _sanitized_names([names[i] for i in others]), strict=True):
        columns[name] = _as_metadata(table.column(i))
    return pa.table(columns).to_pandas()


def _required_column(path: Path, names: list[str], wanted: str, setting: str, what: str) -> int:
    if wanted in names:
        return names.index(wanted)  # the first, if the header repeats it
    found = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    raise PipelineError(
        f"{path}: no column '{wanted}' (found: {found}); name the {what} column with {setting} = \"...\" {IN_CONFIG}"
    )


def _optional_column(names: list[str], wanted: str) -> int | None:
    return names.index(wanted) if wanted in names else None


def _sanitized_names(names: list[str]) -> list[str]:
    """Lowercase [a-z0-9_] names that cannot clash with each other or with the pipeline's own columns."""
    taken: set[str] = set()
    result = []
    for name in names:
        base = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
        if not base or base[0].isdigit():
            base = "c_" + base
        if base in RESERVED_COLUMNS:
            base += "_data"
        unique, n = base, 2
        while unique in taken:
            unique, n = f"{base}_{n}", n + 1
        taken.add(unique)
        result.append(unique)
    return result


def _text_column(path: Path, table: pa.Table, index: int) -> pa.ChunkedArray:
    try:
        return _as_text(table.column(index))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:  # bytes that are not UTF-8, exotic types
        name = table.column_names[index]
        raise PipelineError(
            f"{path}: column '{name}' cannot be read as text ({_first_line(e)}); fix the file"
        ) from None


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Any column as strings: whole floats without ".0" (Arrow casts 1.0 to "1"), NaN as missing."""
    column = _decoded(column)
    kind = column.type
    if pa.types.is_nested(kind):
        return _json_text(column)
    if pa.types.is_floating(kind):
        column = pc.if_else(pc.is_nan(column), pa.scalar(None, kind), column)
    return column.cast(pa.string())


def _whole_numbers_plain(column: pa.ChunkedArray) -> pa.ChunkedArray:
    # A label read as text, like CSV's "1.0" or a JSON field of mixed types, becomes "1" as a float 1.0 does.
    return pc.replace_substring_regex(column, WHOLE_NUMBER, r"\1")


def _as_metadata(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column the pipeline only carries along: numbers, booleans, dates and text keep their type."""
    column = _decoded(column)
    kind = column.type
    if pa.types.is_nested(kind):
        return _json_text(column)
    if pa.types.is_decimal(kind):
        return column.cast(pa.float64())
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        try:
            return column.cast(pa.string())
        except pa.ArrowInvalid:  # not UTF-8: bytes stay bytes
            return column
    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return column.cast(pa.string())
    return column


def _decoded(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_dictionary(column.type):
        return column.cast(column.type.value_type)
    return column


def _json_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    # Compact separators, as DuckDB writes the JSON Lines reader's nested fields, so both formats agree.
    values = [
        None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
        for value in column.to_pylist()
    ]
    return pa.chunked_array([pa.array(values, pa.string())])


# --- missing texts and labels ------------------------------------------------------------------------------------


def _without_missing(path: Path, frame: pd.DataFrame, drop: bool) -> pd.DataFrame:
    no_text = frame["text"].isna() | (frame["text"].str.strip() == "")
    no_label = frame["label"].isna() | (frame["label"] == "")
    missing = no_text | no_label
    if not missing.any():
        return frame
    if not drop:
        raise PipelineError(
            f"{path}: {_missing_summary(no_text, no_label)}; fill them in, or set drop_missing = true "
            f"under [data] to skip them"
        )
    kept = frame[~missing]
    if kept.empty:
        raise PipelineError(
            f"{path}: no row has both a text and a label; check text_column and label_column {IN_CONFIG}"
        )
    kept.attrs["dropped_rows"] = int(missing.sum())
    return kept


def _missing_summary(no_text: pd.Series, no_label: pd.Series) -> str:
    parts = []
    for what, mask in (("text", no_text), ("label", no_label)):
        count = int(mask.sum())
        if count:
            verb = "have" if count > 1 else "has"
            subject = f"{count} row{'s' if count > 1 else ''}" if not parts else str(count)
            parts.append(f"{subject} {verb} no {what} ({_rows(mask[mask].index)})")
    return " and ".join(parts)


def _rows(index: pd.Index) -> str:
    """'row 4' or 'rows 3, 9, ...': 1-based positions in the file, from a frame index of 0-based ones."""
    numbers = [str(i + 1) for i in index[:SHOWN]]
    more = ", ..." if len(index) > SHOWN else ""
    return f"row{'s' if len(index) > 1 else ''} {', '.join(numbers)}{more}"


# --- labels, splits and ids --------------------------------------------------------------------------------------


def _check_splits(frame: pd.DataFrame, path: Path) -> None:
    bad = frame.loc[~frame["split"].isin(SPLITS), "split"].fillna("")
    if bad.empty:
        return
    first_rows = bad.groupby(bad, sort=False).head(1)
    shown = ", ".join(f"{_quoted(value)} (row {i + 1})" for i, value in first_rows.head(SHOWN).items())
    more = ", ..." if len(first_rows) > SHOWN else ""
    plural = "s" if len(first_rows) > 1 else ""
    raise PipelineError(
        f"{path}: unknown split value{plural} {shown}{more}; each row's split must be train, validation or test"
    )


def _check_ids(frame: pd.DataFrame, path: Path) -> None:
    ids = frame["source_id"]
    repeated = ids[ids.notna() & ids.duplicated(keep=False)]
    if repeated.empty:
        return
    groups = list(repeated.groupby(repeated, sort=False).groups.items())
    shown = "; ".join(f"{_quoted(value)} at {_rows(rows)}" for value, rows in groups[:3])
    more = "; ..." if len(groups) > 3 else ""
    count = f"{len(groups)} ids appear" if len(groups) > 1 else "1 id appears"
    raise PipelineError(f"{path}: {count} more than once ({shown}{more}); make the ids unique in the file")


def _check_classes(frame: pd.DataFrame, path: Path) -> None:
    labels = frame["label"]
    classes = list(labels.unique())
    if len(classes) == 1:
        raise PipelineError(
            f"{path}: every row has the label {_quoted(classes[0])}; a classifier needs at least two classes"
        )
    has_split = "split" in frame
    train = frame.loc[frame["split"] == "train", "label"] if has_split else labels
    if train.empty:
        raise PipelineError(f"{path}: no row has split 'train'; a classifier needs training rows")
    counts = train.value_counts()
    absent = [label for label in classes if label not in counts.index]
    if absent:
        _raise_only_outside_train(frame, path, absent)
    # Classes absent from train were caught above, so each of these has exactly one train row.
    single = list(counts[counts < 2].index)
    if single:
        row = "train row" if has_split else "row"
        shown = ", ".join(_quoted(label) for label in single[:SHOWN]) + (", ..." if len(single) > SHOWN else "")
        which = f"label {shown} has" if len(single) == 1 else f"{len(single):,} labels ({shown}) have"
        # Mostly one-row classes look like a text or id column taken for the labels.
        hint = f"; is label_column {IN_CONFIG} right?" if len(single) > 20 and len(single) > len(train) / 2 else ""
        raise PipelineError(
            f"{path}: {which} only 1 {row}; each class needs at least 2: add rows or remove the class{hint}"
        )


def _raise_only_outside_train(frame: pd.DataFrame, path: Path, absent: list[str]) -> None:
    label = absent[0]
    splits = [split for split in SPLITS if ((frame["label"] == label) & (frame["split"] == split)).any()]
    others = f" (and {len(absent) - 1} more)" if len(absent) > 1 else ""
    raise PipelineError(
        f"{path}: label {_quoted(label)}{others} is only in {' and '.join(splits)} rows, never in train; "
        "add train rows for it or remove its rows"
    )


def _quoted(value: object, limit: int = 40) -> str:
    text = str(value)
    return "'" + (text if len(text) <= limit else text[: limit - 3] + "...") + "'"
