"""Reading a user's own labelled texts: every format gives the same rows, and every problem is one clear line."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from pipeline.data.formats import FORMATS
from pipeline.data.rows import RESERVED_COLUMNS, check_rows, read_table
from pipeline.errors import PipelineError

# Texts that break naive CSV handling: the delimiter, quotes, a tab and a newline inside a field.
ROWS = pd.DataFrame(
    {
        "id": [11, 12, 13, 14],
        "text": ['Good, "really" good', "tab\there", "two\nlines", "plain"],
        "label": [1, 0, 1, 0],
        "split": ["train", "train", "test", "train"],
        "stars": [9, 2, 8, 1],
        "score": [0.5, 1.25, -2.0, 3.0],
        "seen": [True, False, True, False],
        "note": ["a", None, "c", "d"],
    }
)
EXPECTED = pd.DataFrame(
    {
        "source_id": ["11", "12", "13", "14"],
        "text": ROWS["text"],
        "label": ["1", "0", "1", "0"],
        "split": ROWS["split"],
        "stars": ROWS["stars"],
        "score": ROWS["score"],
        "seen": ROWS["seen"],
        "note": ["a", None, "c", "d"],
    }
).astype({"source_id": "str", "text": "str", "label": "str", "split": "str", "note": "str"})


def write(path: Path, content: str | bytes) -> Path:
    """Write `content` to `path`, gzipped if the name ends in .gz."""
    data = content.encode() if isinstance(content, str) else content
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def encoded(frame: pd.DataFrame, name: str) -> bytes:
    """`frame` written the way a user's tool would write the format that `name` ends with."""
    kind = name.removesuffix(".gz").rsplit(".", 1)[1]
    if kind == "csv":
        return frame.to_csv(index=False).encode()
    if kind == "tsv":
        return frame.to_csv(index=False, sep="\t").encode()
    if kind == "parquet":
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        return buffer.getvalue()
    return frame.to_json(orient="records", lines=True).encode()


def read_error(path: Path, **settings) -> str:
    with pytest.raises(PipelineError) as info:
        read_table(path, settings)
    return one_line(info.value, path)


def rows_error(frame: pd.DataFrame, path: Path) -> str:
    with pytest.raises(PipelineError) as info:
        check_rows(frame, path)
    return one_line(info.value, path)


def one_line(error: PipelineError, path: Path) -> str:
    message = str(error)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message


# --- the good paths ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ending", FORMATS)
def test_each_format_and_its_gzip_give_the_same_frame(tmp_path, ending):
    path = write(tmp_path / f"texts{ending}", encoded(ROWS, ending))
    pd.testing.assert_frame_equal(read_table(path, {}), EXPECTED)


def test_formats_are_the_known_endings_without_the_imdb_tarball():
    assert {".csv", ".tsv", ".parquet", ".jsonl", ".csv.gz", ".tsv.gz", ".parquet.gz", ".jsonl.gz"} <= set(FORMATS)
    assert ".tar.gz" not in FORMATS
    assert {"text", "label", "split", "source_id", "x", "y", "loss"} <= RESERVED_COLUMNS


def test_quoted_delimiters_quotes_and_newlines_survive_in_csv_and_tsv(tmp_path):
    csv = 'text,label\n"a, b",x\n"say ""hi""",y\n"line one\nline two",x\n'
    tsv = 'text\tlabel\n"a\tb"\tx\n"say ""hi"""\ty\n"line one\r\nline two"\tx\n'
    assert read_table(write(tmp_path / "a.csv", csv), {})["text"].tolist() == ["a, b", 'say "hi"', "line one\nline two"]
    assert read_table(write(tmp_path / "a.tsv", tsv), {})["text"].tolist() == [
        "a\tb",
        'say "hi"',
        "line one\r\nline two",
    ]


def test_other_column_names_come_from_the_settings(tmp_path):
    path = write(tmp_path / "a.csv", "review,body,category,part\nr1,fine,pos,train\nr2,awful,neg,test\n")
    settings = {"text_column": "body", "label_column": "category", "split_column": "part", "id_column": "review"}
    frame = read_table(path, settings)
    assert frame.columns.tolist() == ["source_id", "text", "label", "split"]
    assert frame.to_dict("records")[1] == {"source_id": "r2", "text": "awful", "label": "neg", "split": "test"}


def test_id_and_split_columns_are_optional(tmp_path):
    frame = read_table(write(tmp_path / "a.csv", "label,text\npos,fine\nneg,awful\n"), {})
    assert frame.columns.tolist() == ["text", "label"]
    assert frame["text"].tolist() == ["fine", "awful"]


def test_numeric_labels_and_ids_become_their_decimal_text(tmp_path):
    frame = pd.DataFrame({"id": [7.0, 8.0], "text": ["a", "b"], "label": [1.0, 0.0]})
    assert read_table(write(tmp_path / "a.parquet", encoded(frame, "a.parquet")), {})["label"].tolist() == ["1", "0"]
    csv = read_table(write(tmp_path / "a.csv", "id,text,label\n007,a,1.0\n8,b,0\n"), {})
    assert csv["label"].tolist() == ["1", "0"]
    assert csv["source_id"].tolist() == ["007", "8"]  # ids are names: a leading zero stays
    jsonl = '{"text": "a", "label": 0}\n{"text": "b", "label": "neutral"}\n{"text": "NA", "label": 2.0}\n'
    frame = read_table(write(tmp_path / "a.jsonl", jsonl), {})
    assert frame["label"].tolist() == ["0", "neutral", "2"]
    assert frame["text"].tolist() == ["a", "b", "NA"]


def test_split_values_are_stripped_and_lowercased(tmp_path):
    frame = read_table(write(tmp_path / "a.csv", "text,label,split\na,x, Train \nb,y,TEST\n"), {})
    assert frame["split"].tolist() == ["train", "test"]


def test_metadata_columns_keep_their_types_and_nested_values_become_json(tmp_path):
    jsonl = "".join(
        json.dumps(row) + "\n"
        for row in [
            {"text": "a", "label": "x", "n": 1, "f": 0.5, "b": True, "tags": ["p", "q"], "meta": {"k": 1}, "mix": 1},
            {"text": "b", "label": "y", "n": 2, "f": None, "b": False, "tags": [], "meta": None, "mix": "two"},
        ]
    )
    frame = read_table(write(tmp_path / "a.jsonl", jsonl), {})
    assert frame["n"].dtype == "int64" and frame["f"].dtype == "float64" and frame["b"].dtype == "bool"
    assert frame["tags"].tolist() == ['["p","q"]', "[]"]
    assert frame["meta"].iloc[0] == '{"k":1}' and pd.isna(frame["meta"].iloc[1])
    assert frame["mix"].tolist() == ["1", "two"]


def test_column_names_are_sanitized_and_kept_clear_of_the_pipelines_own(tmp_path):
    header = "text,label,Star Rating,star-rating,2nd,__,Loss,Text ,x,x_data"
    path = write(tmp_path / "a.csv", header + "\na,p,1,2,3,4,5,6,7,8\n")
    names = read_table(path, {}).columns.tolist()
    assert names == [
        "text",
        "label",
        "star_rating",
        "star_rating_2",
        "c_2nd",
        "c_",
        "loss_data",
        "text_data",
        "x_data",
        "x_data_2",
    ]


def test_a_one_megabyte_text_reads_whole(tmp_path):
    long_text = "word, " * 200_000 + "end"
    path = write(tmp_path / "a.csv", f'text,label\n"{long_text}",x\nshort,y\n')
    assert read_table(path, {})["text"].tolist() == [long_text, "short"]


def test_latin1_and_cp1252_and_utf16_files_read_with_the_encoding_setting(tmp_path):
    content = "text,label\ncafé crème,pos\n“quoted” for 5 €,neg\n"
    for encoding in ("cp1252", "utf-16"):
        path = write(tmp_path / f"{encoding}.csv", content.encode(encoding))
        assert read_table(path, {"encoding": encoding})["text"].tolist() == ["café crème", "“quoted” for 5 €"]
    path = write(tmp_path / "latin1.jsonl.gz", '{"text": "été", "label": "pos"}\n'.encode("latin-1"))
    assert read_table(path, {"encoding": "latin-1"})["text"].tolist() == ["été"]


def test_drop_missing_skips_rows_without_text_or_label(tmp_path):
    path = write(tmp_path / "a.csv", "text,label\na,x\n  ,y\nb,\nc,y\n")
    frame = read_table(path, {"drop_missing": True})
    assert frame["text"].tolist() == ["a", "c"]
    assert frame.index.tolist() == [0, 3]  # file positions, for check_rows' row numbers
    assert frame.attrs["dropped_rows"] == 2


def test_endings_are_case_insensitive_and_ndjson_is_json_lines(tmp_path):
    assert len(read_table(write(tmp_path / "A.CSV", "text,label\na,x\n"), {})) == 1
    assert len(read_table(write(tmp_path / "a.ndjson.gz", '{"text": "a", "label": "x"}\n'), {})) == 1


def test_good_rows_pass_check_rows(tmp_path):
    check_rows(EXPECTED.assign(split=["train", "train", "train", "train"]), tmp_path)
    check_rows(EXPECTED.drop(columns=["split", "source_id"]), tmp_path)


# --- errors when reading -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["texts.xlsx", "aclImdb_v1.tar.gz", "texts.gz"])
def test_unknown_format(tmp_path, name):
    message = read_error(write(tmp_path / name, "text,label\na,b\n"))
    assert "unknown data format" in message
    assert ".csv, .tsv, .parquet or .jsonl" in message and "IMDB .tar.gz" in message


def test_missing_file(tmp_path):
    assert "data file not found; pass an existing file with DATA=" in read_error(tmp_path / "nowhere.csv")


@pytest.mark.parametrize("name", ["a.csv", "a.jsonl", "a.parquet", "a.csv.gz"])
def test_empty_file(tmp_path, name):
    assert "the file is empty" in read_error(write(tmp_path / name, b""))


def test_header_without_rows(tmp_path):
    assert "no rows below the header" in read_error(write(tmp_path / "a.tsv", "text\tlabel\n\n"))
    frame = pd.DataFrame({"text": pd.Series([], dtype="str"), "label": pd.Series([], dtype="str")})
    assert "no rows" in read_error(write(tmp_path / "a.parquet", encoded(frame, "a.parquet")))


def test_missing_text_column_names_the_columns_found_and_the_setting(tmp_path):
    message = read_error(write(tmp_path / "a.csv", "body,category,id\nfine,pos,1\n"))
    assert "no column 'text' (found: body, category, id)" in message
    assert 'text_column = "..." under [data] in your CONFIG file' in message


def test_missing_label_column_names_its_setting(tmp_path):
    message = read_error(write(tmp_path / "a.jsonl", '{"text": "fine", "stars": 5}\n'))
    assert "no column 'label' (found: text, stars)" in message and "label_column =" in message


def test_ragged_row_names_its_line(tmp_path):
    path = write(tmp_path / "a.csv", 'text,label\na,x\n"two\nlines",y\nb,x,extra\n')
    assert "line 5 has 3 fields, the header has 2; fix the file" in read_error(path)
    path = write(tmp_path / "a.tsv", "text\tlabel\na\tx\nb\n")
    assert "line 3 has 1 fields, the header has 2" in read_error(path)


def test_unclosed_quote_names_the_line_where_it_opens(tmp_path):
    rows = "text,label\na,x\nb,y\nc,x\nd,y\ne,x\n"
    # The quote swallows the rest of the file: into too few fields (Arrow fails), or into one last label it accepts.
    for bad in ('"f,y\ng,x\n', 'f,"y\ng,x\n'):
        path = write(tmp_path / "a.csv", rows + bad)
        assert "line 7: a quote opened here is never closed; fix the file" in read_error(path)


def test_stray_quote_inside_a_field_is_text(tmp_path):
    path = write(tmp_path / "a.csv", 'text,label\na 5" screen,x\nb,y\n')
    assert read_table(path, {})["text"].tolist() == ['a 5" screen', "b"]


def test_bytes_invalid_in_the_encoding_name_line_and_byte(tmp_path):
    path = write(tmp_path / "a.csv", "text,label\nfine,x\ncaf\xe8,y\n".encode("latin-1"))
    message = read_error(path)
    assert "line 3 is not valid utf-8 (byte 0xe8 at offset 3 of the line)" in message
    assert 'set encoding = "latin-1" (or the file\'s encoding) under [data] in your CONFIG file' in message
    assert read_table(path, {"encoding": "latin-1"})["text"].tolist() == ["fine", "cafè"]
    # cp1252 leaves 0x81 undefined; the file is valid UTF-8, so that is the suggestion.
    path = write(tmp_path / "b.jsonl.gz", '{"text": "\u0101", "label": "x"}\n'.encode())
    message = read_error(path, encoding="cp1252")
    assert "line 1 is not valid cp1252 (byte 0x81 at offset 11 of the line)" in message
    assert 'encoding = "utf-8"' in message


def test_unknown_encoding_names_the_setting(tmp_path):
    for encoding in ("utf-42", "base64"):
        message = read_error(write(tmp_path / "a.csv", "text,label\na,x\n"), encoding=encoding)
        assert f'unknown encoding "{encoding}"' in message and "encoding = " in message


def test_missing_texts_and_labels_say_how_many_and_where(tmp_path):
    rows = ["a,x", "b,y", ",x", "c,", "d,y", "e,x", "f,y", "g,x", "   ,y"]
    message = read_error(write(tmp_path / "a.csv", "text,label\n" + "\n".join(rows) + "\n"))
    assert "2 rows have no text (rows 3, 9) and 1 has no label (row 4)" in message
    assert "fill them in, or set drop_missing = true under [data] to skip them" in message
    jsonl = '{"text": "a", "label": "x"}\n{"text": null, "label": "x"}\n{"label": "y"}\n'
    assert "2 rows have no text (rows 2, 3);" in read_error(write(tmp_path / "a.jsonl", jsonl))


def test_nothing_left_after_dropping_missing_rows(tmp_path):
    path = write(tmp_path / "a.csv", "text,label\n,x\na,\n")
    assert "no row has both a text and a label" in read_error(path, drop_missing=True)


def test_corrupt_parquet(tmp_path):
    path = write(tmp_path / "a.parquet.gz", b"PAR1 this is not really parquet")
    message = read_error(path)
    assert "cannot read the file as Parquet (" in message and "<Buffer>" not in message


def test_corrupt_gzip(tmp_path):
    (tmp_path / "a.csv.gz").write_bytes(b"text,label\na,x\n")
    assert "not a readable gzip file" in read_error(tmp_path / "a.csv.gz")
    (tmp_path / "b.csv.gz").write_bytes(gzip.compress(b"text,label\na,x\n" * 100)[:-30])
    assert "not a readable gzip file" in read_error(tmp_path / "b.csv.gz")


def test_broken_json_lines_name_the_line(tmp_path):
    good = '{"text": "a", "label": "x"}\n\n'
    path = write(tmp_path / "a.jsonl", good + '{"text": "b" "label": "y"}\n')
    assert "line 3 is not valid JSON (" in read_error(path)
    path = write(tmp_path / "a.jsonl", good + '["b", "y"]\n')
    assert "line 3 is not a JSON object" in read_error(path)


# --- errors in the rows ------------------------------------------------------------------------------------------


def frame_of(tmp_path: Path, csv: str, **settings) -> pd.DataFrame:
    return read_table(write(tmp_path / "a.csv", csv), settings)


def test_one_class_only(tmp_path):
    frame = frame_of(tmp_path, "text,label\na,spam\nb,spam\n")
    message = rows_error(frame, tmp_path / "a.csv")
    assert "every row has the label 'spam'; a classifier needs at least two classes" in message


def test_class_with_fewer_than_two_train_rows(tmp_path):
    frame = frame_of(tmp_path, "text,label,split\na,spam,train\nb,spam,train\nc,ham,train\nd,ham,test\n")
    assert "label 'ham' has only 1 train row; each class needs at least 2" in rows_error(frame, tmp_path / "a.csv")
    frame = frame_of(tmp_path, "text,label\na,spam\nb,spam\nc,ham\n")
    assert "label 'ham' has only 1 row" in rows_error(frame, tmp_path / "a.csv")


def test_class_only_in_test(tmp_path):
    frame = frame_of(tmp_path, "text,label,split\na,spam,train\nb,spam,train\nc,ham,test\nd,ham,test\n")
    message = rows_error(frame, tmp_path / "a.csv")
    assert "label 'ham' is only in test rows, never in train" in message


def test_no_train_rows(tmp_path):
    frame = frame_of(tmp_path, "text,label,split\na,spam,test\nb,ham,validation\n")
    assert "no row has split 'train'" in rows_error(frame, tmp_path / "a.csv")


def test_duplicate_ids(tmp_path):
    frame = frame_of(tmp_path, "id,text,label\n1,a,x\n2,b,x\n1,c,y\n3,d,y\n2,e,y\n")
    message = rows_error(frame, tmp_path / "a.csv")
    assert "2 ids appear more than once ('1' at rows 1, 3; '2' at rows 2, 5)" in message


def test_unknown_split_values(tmp_path):
    frame = frame_of(tmp_path, "text,label,split\na,x,train\nb,y,train\nc,x,dev\nd,y,dev\ne,x,\n")
    message = rows_error(frame, tmp_path / "a.csv")
    assert "unknown split values 'dev' (row 3), '' (row 5)" in message
    assert "must be train, validation or test" in message


def test_row_numbers_stay_those_of_the_file_after_dropping_rows(tmp_path):
    frame = frame_of(tmp_path, "id,text,label\n1,,x\n2,a,x\n3,b,y\n2,c,y\n", drop_missing=True)
    assert "('2' at rows 2, 4)" in rows_error(frame, tmp_path / "a.csv")
