"""make bench-scale: the data sets of N texts made from IMDB's sentences, the sizes it refuses, the growth figures,
and the viewer's queries it times, run on the test suite's builds."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pyarrow as pa
import pytest

from bench import scale, synthetic
from pipeline.data import imdb
from pipeline.errors import PipelineError
from tests.conftest import PER_FOLDER, ROOT, TINY_CONFIG

N = 1000


@pytest.fixture(scope="module")
def reviews(tarball) -> pd.DataFrame:
    return imdb.read_reviews(tarball, PER_FOLDER)


@pytest.fixture(scope="module")
def texts(reviews) -> pd.DataFrame:
    return synthetic.synthetic_texts(reviews, N, seed=0)


def test_texts_are_distinct_with_the_columns_the_pipeline_reads(texts):
    assert list(texts.columns) == ["id", "text", "label", "split"]
    assert len(texts) == N
    assert texts["text"].nunique() == N
    assert texts["id"].tolist() == list(range(N))
    # The duplicate check rests on hashes: none flagged means no two texts alike.
    assert not synthetic.duplicates(pa.array(texts["text"].array)).any()


def test_half_train_half_test_and_labels_balanced_in_each(texts):
    counts = texts.groupby(["split", "label"]).size().to_dict()
    assert counts == {(split, label): N // 4 for split in ("train", "test") for label in ("negative", "positive")}
    assert set(texts["label"]) == set(imdb.FOLDERS.values())  # the labels IMDB's own ingest gives


@pytest.mark.parametrize("n", [201, 202, 203, 997])
def test_odd_sizes_share_out_every_text(reviews, n):
    made = synthetic.synthetic_texts(reviews, n, seed=1)
    counts = made.groupby(["split", "label"]).size()
    assert len(made) == n and made["text"].nunique() == n
    assert counts.max() - counts.min() <= 1
    assert abs((made["split"] == "train").sum() - (made["split"] == "test").sum()) <= 1


def test_same_seed_same_texts_other_seed_other_texts(reviews, texts):
    pd.testing.assert_frame_equal(synthetic.synthetic_texts(reviews, N, seed=0), texts)
    other = synthetic.synthetic_texts(reviews, N, seed=1)
    assert not other["text"].equals(texts["text"])
    assert (other["text"] != texts["text"]).mean() > 0.9


def test_every_sentence_comes_from_a_review_of_the_same_split_and_label(reviews, texts):
    pools = {
        key: {sentence for text in group["text"] for sentence in synthetic.split_sentences(text)}
        for key, group in reviews.groupby(["split", "label"])
    }
    lengths = {len(synthetic.split_sentences(text)) for text in reviews["text"]}
    for row in texts.itertuples():
        sentences = synthetic.split_sentences(row.text)
        assert set(sentences) <= pools[(row.split, row.label)], row.text
        assert len(sentences) in lengths  # as many sentences as some real review has
    # Texts of one label do hold sentences found only in reviews of that label.
    only_positive = pools[("train", "positive")] - pools[("train", "negative")]
    positive = texts[(texts["label"] == "positive") & (texts["split"] == "train")]["text"]
    assert any(s in only_positive for text in positive for s in synthetic.split_sentences(text))


def test_sentences_end_at_a_stop_followed_by_space_and_keep_their_tags():
    text = "A fine film. Loved it!<br /><br />Really? Yes...  The end"
    assert synthetic.split_sentences(text) == ["A fine film.", "Loved it!<br /><br />Really?", "Yes...", "The end"]
    # The Arrow splitter cuts the same way.
    assert synthetic._sentences(pa.array([text])).to_pylist() == [synthetic.split_sentences(text)]


def run_scale(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bench", "scale", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_writes_the_parquet_file_the_pipeline_reads(tarball, tmp_path):
    out = tmp_path / "texts.parquet"
    result = run_scale("--data", str(tarball), "--config", str(TINY_CONFIG), "--n", "400", "--out", str(out))
    assert result.returncode == 0, result.stderr
    written = pd.read_parquet(out)
    assert len(written) == 400 and written["text"].nunique() == 400
    assert not list(tmp_path.glob(".*tmp*"))


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_too_few_texts_fail_in_one_line(tarball, tmp_path):
    result = run_scale("--data", str(tarball), "--n", "150", "--out", str(tmp_path / "x.parquet"))
    assert one_line_error(result) == "error: N=150: at least 200 texts; run make bench-scale N=200 or more"
    assert not (tmp_path / "x.parquet").exists()


def test_more_texts_than_memory_holds_fail_in_one_line(tarball, tmp_path):
    result = run_scale("--data", str(tarball), "--n", str(10**12), "--out", str(tmp_path / "x.parquet"))
    line = one_line_error(result)
    assert line.startswith(f"error: N={10**12}: the pipeline would need about ")
    assert "GiB is available" in line and "run make bench-scale N=" in line
    # The runner refuses before building any size.
    out = tmp_path / "bench.json"
    result = run_scale("--data", str(tarball), "--sizes", f"1000,{10**12}", "--out", str(out))
    assert f"N={10**12}" in one_line_error(result)
    assert not out.exists() and not (tmp_path / "scale").exists()


def test_memory_estimate_against_what_is_available():
    scale.check_size(200_000, available=scale.estimated_mib(200_000) + 1)
    with pytest.raises(PipelineError, match=r"N=200000: .* but only 1\.0 GiB is available; run make bench-scale N="):
        scale.check_size(200_000, available=1024)


def test_data_must_be_the_imdb_tarball(tmp_path):
    line = one_line_error(run_scale("--data", str(tmp_path / "none.tar.gz"), "--n", "500", "--out", "x.parquet"))
    assert "none.tar.gz: data file not found; run make bench-scale DATA=path/to/aclImdb_v1.tar.gz" in line
    other = tmp_path / "tickets.csv"
    other.write_text("text,label\na,b\n")
    line = one_line_error(run_scale("--data", str(other), "--sizes", "500", "--out", str(tmp_path / "b.json")))
    assert "tickets.csv: not the IMDB tarball" in line


def test_sizes_are_sorted_deduplicated_and_at_most_n():
    assert scale.parse_sizes("50000 200000 2000", up_to=2000) == [2000]
    assert scale.parse_sizes("50000,200000 1000000 200000", up_to=1_000_000) == [50_000, 200_000, 1_000_000]
    assert scale.parse_sizes("1000 2000") == [1000, 2000]
    with pytest.raises(PipelineError, match="whole numbers"):
        scale.parse_sizes("1k")


def test_growth_ratios_on_hand_made_timings():
    rows = {
        1000: [
            {"step": "settings", "seconds": 0.1, "peak_mib": 18.0},
            {"step": "settings", "seconds": 0.1, "peak_mib": 20.0},
            {"step": "maps_dense", "seconds": 10.0, "peak_mib": 400.0},
            {"step": "train_dense", "seconds": 5.0, "peak_mib": 900.0},
        ],
        4000: [
            {"step": "settings", "seconds": 0.2, "peak_mib": 20.0},
            {"step": "maps_dense", "seconds": 51.0, "peak_mib": 520.0},
            {"step": "train_dense", "seconds": 20.0, "peak_mib": 900.0},
        ],
        20000: [{"step": "maps_dense", "seconds": 255.0, "peak_mib": 1040.0}],
    }
    steps = {n: scale.step_figures(found) for n, found in rows.items()}
    assert steps[1000]["settings"] == {"seconds": 0.2, "peak_mib": 20.0}  # a step run twice: seconds add up
    found = scale.growth(steps)
    assert list(found) == ["1000->4000", "4000->20000"]
    assert found["1000->4000"]["maps_dense"] == {
        "n_ratio": 4.0,
        "time_ratio": 5.1,
        "memory_ratio": 1.3,
        "time_exponent": 1.18,
    }
    assert found["1000->4000"]["train_dense"]["time_exponent"] == 1.0
    assert found["1000->4000"]["settings"]["time_ratio"] == 1.0
    # Only the steps both sizes have.
    assert found["4000->20000"] == {
        "maps_dense": {"n_ratio": 5.0, "time_ratio": 5.0, "memory_ratio": 2.0, "time_exponent": 1.0}
    }


def test_figures_go_under_scale_beside_the_other_keys(tmp_path):
    out = tmp_path / "bench.json"
    out.write_text('{"aclImdb_v1.tar.gz": {"data": "aclImdb_v1.tar.gz", "cold_make_all_seconds": 442.2}}\n')
    scale.save(out, {"data": "aclImdb_v1.tar.gz", "sizes": {"2000": {"texts": 2000}}})
    scale.save(out, {"data": "aclImdb_v1.tar.gz", "sizes": {"1000": {"texts": 1000}}})
    report = json.loads(out.read_text())
    assert report["aclImdb_v1.tar.gz"]["cold_make_all_seconds"] == 442.2
    assert report["scale"]["sizes"] == {"1000": {"texts": 1000}}
    assert not list(tmp_path.glob(".*tmp*"))


@pytest.mark.parametrize("which", ["database", "tickets_database"])
def test_every_named_query_runs_with_the_values_a_page_passes(which, request):
    database = request.getfixturevalue(which)
    found = scale.query_timings(database)
    assert found["errors"] == {}
    # Every query is run or said why not: IMDB has no category column, the tickets have one.
    assert set(found["seconds"]) | set(found["not_run"]) == set(scale.query_names())
    has_categories = which == "tickets_database"
    assert set(found["not_run"]) == (set() if has_categories else {"category_loss", "point_categories"})
    assert found["parameters"]["text_heatmap"]["text_id"] >= 0
