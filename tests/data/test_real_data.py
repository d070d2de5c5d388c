"""Smoke test: the pipeline on a small sample of the real IMDB texts, when the tarball is at hand."""

from __future__ import annotations

import duckdb
import pytest

from tests.conftest import REAL_DATA, TINY_CONFIG, make

SAMPLE = 100

pytestmark = pytest.mark.skipif(not REAL_DATA.exists(), reason=f"{REAL_DATA} is not here")


def test_pipeline_on_a_sample_of_the_real_reviews(tmp_path):
    config = tmp_path / "real_sample.toml"
    tiny = TINY_CONFIG.read_text().replace("reviews_per_folder = 100", "")
    config.write_text(tiny.replace("[data]", f"[data]\nreviews_per_folder = 12500\nsample_per_folder = {SAMPLE}"))
    result = make(tmp_path / "build", "all", data=REAL_DATA, config=config)
    assert result.returncode == 0, result.stderr[-3000:]

    with duckdb.connect(str(tmp_path / "build" / "reviewlens.duckdb"), read_only=True) as db:
        assert db.execute("select count(*) from texts").fetchone()[0] == 4 * SAMPLE
        # Real texts carry HTML residue in their raw text; the tokens never do.
        assert db.execute("select count(*) from texts where text like '%<br />%'").fetchone()[0] > 0
        assert db.execute("select count(*) from predictions").fetchone()[0] == 3 * 4 * SAMPLE
        assert db.execute("select min(n_tokens) from texts").fetchone()[0] > 0
        sha = db.execute("select value from meta where key = 'dataset_sha256'").fetchone()[0]
        assert sha == "dd6881bae3380d9b0237ea2d98de60a1a17fe38c25a0104a19f435a3a1214ff9"
