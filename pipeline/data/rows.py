"""A user's own file of labelled texts as rows: read_table(path, settings) gives every row with its text and label
(from pipeline/data/formats.py's table of the file); check_rows(frame, path) then checks that the labels, splits and
ids can train and test a classifier. Every problem is one PipelineError line that names the file, the row, and what
to do.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.data.formats import IN_CONFIG, read_file
from pipeline.errors import PipelineError, first_line
from pipeline.whole_set.features import MEASURES

# The names the database gives its own columns: the data's columns of the same names are renamed.
RESERVED_COLUMNS: frozenset[str] = frozenset(
    {"text_id", "source_id", "split", "subset", "label", "text"}
    | {measure.column for measure in MEASURES}
    | {"model", "loss", "confidence", "correct", "probabilities", "predicted_label", "cluster", "x", "y"}
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
SHOWN = 5  # row numbers or values a message lists before "..."
# A whole label or id like "3.0" is the integer 3 written by a float column (pandas writes ints with gaps so).
WHOLE_NUMBER = r"^(-?\d+)\.0+$"


def read_table(path: Path, settings: dict) -> pd.DataFrame:
    """Every row of the user's file, checked.

    Columns: source_id (if the id column exists), text, label, split (if the split column exists), then the file's
    other columns with sanitized names. The index is each row's 0-based position among the file's data rows, so
    that check_rows can name rows even after drop_missing removed some.
    """
    path = Path(path)
    options = {**DEFAULTS, **settings}
    keys = [options[key] for key in ("text_column", "label_column", "split_column", "id_column")]
    table = read_file(path, options["encoding"], keys)
    if table.num_rows == 0:
        raise PipelineError(f"{path}: the file has no rows; pass a file with labelled rows with DATA=")
    return _without_missing(path, _frame(path, table, options), options["drop_missing"])


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
        raise PipelineError(f"{path}: column '{name}' cannot be read as text ({first_line(e)}); fix the file") from None


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
