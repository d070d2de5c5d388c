"""Two builds compared: matching, pairing, the figures against direct counts from the two files, the gate, the pages,
and each bad base ending in one line with the database kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pipeline.config import load_config
from pipeline.database.base_file import attach
from pipeline.errors import PipelineError
from pipeline.whole_set.compare import Sides, compare, flip_summary, label_map, match, pair_models
from tests.conftest import copy_build, last_error_line, make, run_page, tiny_settings_with
from viewer.database import open_database, query

SETTINGS = {"pairs": [], "label_map": [], "base": "base.duckdb"}


# --- matching and pairing, on frames ---------------------------------------------------------------------------


def texts(ids, labels, words, subset="test") -> pd.DataFrame:
    return pd.DataFrame(
        {"text_id": range(len(labels)), "source_id": ids, "subset": subset, "label": labels, "digest": words}
    )


def test_texts_match_by_id_and_what_does_not_match_is_counted():
    base = texts(["a", "b", "c", "d"], ["x", "y", "x", "y"], ["1", "2", "3", "4"])
    this = texts(["b", "c", "d", "e"], ["y", "y", "x", "x"], ["2", "3", "4 changed", "5"])
    matched = match(this, base, {"x": "x", "y": "y"}, "base.duckdb")
    assert matched.summary == {
        "matched_by": "id",
        "matched": 3,
        "added": 1,
        "removed": 1,
        "relabelled": 2,
        "changed": 1,
        "paired_texts": 1,
    }
    # b keeps its label and is paired; c and d changed label: counted, not paired.
    paired = matched.texts[matched.texts["paired"]]
    assert list(paired["text_id"]) == [0] and list(paired["base_text_id"]) == [1]


def test_texts_without_ids_match_by_text_copy_by_copy():
    base = texts([None, None, None], ["x", "x", "y"], ["same", "same", "other"])
    this = texts([None, None], ["x", "y"], ["same", "other"])
    matched = match(this, base, {"x": "x", "y": "y"}, "base.duckdb")
    assert matched.summary["matched_by"] == "text"
    assert (matched.summary["matched"], matched.summary["removed"], matched.summary["added"]) == (2, 1, 0)
    assert dict(zip(matched.texts["text_id"], matched.texts["base_text_id"], strict=True)) == {0: 0, 1: 2}


def test_a_base_with_no_text_in_common_is_refused():
    with pytest.raises(PipelineError, match="no text in common with this build"):
        match(texts(["a"], ["x"], ["1"]), texts(["b"], ["x"], ["2"]), {"x": "x"}, "base.duckdb")


def test_label_sets_must_agree_once_mapped():
    with pytest.raises(PipelineError, match=r"only in this build: pos; only in the base: POS.*label_map"):
        label_map(SETTINGS, ["neg", "POS"], ["neg", "pos"], "base.duckdb")
    assert label_map({**SETTINGS, "label_map": [["POS", "pos"]]}, ["neg", "POS"], ["neg", "pos"], "b") == {
        "neg": "neg",
        "POS": "pos",
    }


def models(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["model", "kind", "compared"])


def test_models_pair_by_name_then_the_two_brought_ones():
    base = models(("dense", "trained", True), ("v1", "keras", True), ("baseline", "baseline", False))
    this = models(("dense", "trained", True), ("v2", "keras", True), ("baseline", "baseline", False))
    assert pair_models(SETTINGS, this, base, within=False) == [
        ("dense", "dense", "name"),
        ("baseline", "baseline", "name"),
        ("v1", "v2", "brought"),
    ]
    # Two brought models on one side: which pairs with which is the user's to say.
    two = models(("v2", "keras", True), ("v3", "transformer", True))
    with pytest.raises(PipelineError, match=r"no model of this build pairs .*\[compare\] pairs"):
        pair_models(SETTINGS, two, base.iloc[1:2], within=False)
    assert pair_models({**SETTINGS, "pairs": [["v1", "v3"]]}, two, base, within=False) == [("v1", "v3", "settings")]
    with pytest.raises(PipelineError, match=r"names 'nope', which the base has not \(it has dense, v1, baseline\)"):
        pair_models({**SETTINGS, "pairs": [["nope", "v2"]]}, two, base, within=False)
    # Within one build: each two compared models, in order.
    three = models(
        ("dense", "trained", True), ("cnn", "trained", True), ("v2", "keras", True), ("b", "baseline", False)
    )
    assert [pair[:2] for pair in pair_models(SETTINGS, three, three, within=True)] == [
        ("dense", "cnn"),
        ("dense", "v2"),
        ("cnn", "v2"),
    ]


def test_flip_rates_and_mcnemar_from_the_verdicts():
    class Data:
        label = np.zeros(100, int)
        right = (np.arange(100) < 90, (np.arange(100) < 80) | (np.arange(100) >= 95))

    found = flip_summary(Data)
    assert (found["broken"], found["fixed"], found["texts"]) == (10, 5, 100)
    assert found["negative_flip_rate"] == 0.1 and found["nfr_low"] < 0.1 < found["nfr_high"]
    assert found["mcnemar_p"] == pytest.approx(stats.binomtest(5, 15, 0.5).pvalue)


# --- two real builds: the default tiny build, and the same with the dense model trained one epoch -------------------


@pytest.fixture(scope="module")
def compared(one_epoch_build) -> Path:
    """The tiny build with its dense model trained short, compared with the tiny build (BASE=)."""
    return one_epoch_build[0] / "reviewlens.duckdb"


def direct_flips(this: Path, base: Path) -> dict[str, tuple[int, int]]:
    with duckdb.connect() as con:
        con.execute(f"attach '{this}' as this (read_only)")
        con.execute(f"attach '{base}' as base (read_only)")
        rows = con.execute(
            "select a.model, count(*) filter (where b.correct and not a.correct), "
            "count(*) filter (where not b.correct and a.correct) from this.predictions a "
            "join base.predictions b using (text_id, model) join this.texts t using (text_id) "
            "where t.subset = 'test' group by a.model"
        ).fetchall()
    return {model: (broken, fixed) for model, broken, fixed in rows}


def test_the_flips_equal_a_direct_count_from_the_two_files(compared, database):
    con = open_database(compared)
    stored = {
        model: (broken, fixed)
        for model, broken, fixed in con.execute(
            "select model, count(*) filter (where direction = 'broken'), count(*) filter (where direction = 'fixed') "
            "from flips group by model"
        ).fetchall()
    }
    pairs = con.execute("select model, base_model, paired_by, broken, fixed, texts from comparison_pairs").fetchall()
    summary = con.execute("select within, matched_by, matched, added, removed, paired_texts from comparison").fetchone()
    con.close()
    direct = direct_flips(compared, database)
    assert {model: counts for model, counts in direct.items() if sum(counts)} == stored
    assert direct["dense"][0] > 0, "one epoch breaks some texts the six-epoch model got right"
    assert direct["cnn"] == (0, 0) and direct["baseline"] == (0, 0), "the models trained alike flip nothing"
    assert {(model, base, by, broken, fixed, n) for model, base, by, broken, fixed, n in pairs} == {
        (model, model, "name", *direct[model], 200) for model in ("dense", "cnn", "baseline")
    }
    assert summary == (False, "id", 400, 0, 0, 200)


def test_the_paired_figures_are_each_builds_own(compared, database):
    con = open_database(compared)
    rows = (
        con.execute(
            "select metric, before, after, difference, ci_low, ci_high from comparison_metrics "
            "where model = 'dense' and class is null"
        )
        .df()
        .set_index("metric")
    )
    after = con.execute(
        "select accuracy, loss, macro_f1 from model_metrics where model = 'dense' and subset = 'test'"
    ).fetchone()
    con.close()
    base = open_database(database)
    before = base.execute(
        "select accuracy, loss, macro_f1 from model_metrics where model = 'dense' and subset = 'test'"
    ).fetchone()
    base.close()
    for metric, was, now in zip(("accuracy", "loss", "macro_f1"), before, after, strict=True):
        assert rows.loc[metric, "before"] == pytest.approx(was) and rows.loc[metric, "after"] == pytest.approx(now)
        assert rows.loc[metric, "ci_low"] <= rows.loc[metric, "difference"] <= rows.loc[metric, "ci_high"]
    assert {"ece"} <= set(rows.index)


def test_the_base_heat_maps_are_the_bases_own(compared, database):
    con = open_database(compared)
    text_id, label = con.execute(
        "select text_id, label from flips where model = 'dense' order by rank limit 1"
    ).fetchone()
    kept = con.execute(
        "select token, seen, score from comparison_heatmaps where text_id = ? and base_model = 'dense' "
        "and label = ? order by position",
        [text_id, label],
    ).fetchall()
    con.close()
    base = open_database(database)
    heat = query(base, "text_heatmap", text_id=text_id, label=label)
    own = list(heat[heat["model"] == "dense"][["token", "seen", "score"]].itertuples(index=False, name=None))
    base.close()
    assert kept and [token for token, *_ in kept] == [token for token, *_ in own]
    assert [seen for _, seen, _ in kept] == [seen for _, seen, _ in own]
    assert [score for *_, score in kept] == pytest.approx([score for *_, score in own], nan_ok=True)


def test_make_check_gates_the_regression_and_not_the_fix(compared, database, tmp_path):
    worse = make(compared.parent, "check", env={"BASE": str(database)})
    assert worse.returncode != 0
    gates = [line for line in worse.stdout.splitlines() if line.startswith("gate: ")]
    assert gates and all(line.startswith("gate: dense: ") for line in gates), worse.stdout
    assert any("broken" in line or "fell" in line for line in gates)
    assert "Traceback" not in worse.stderr
    # The other way round fewer texts break and accuracy rises: only behavioural tests can cross a gate, and with
    # that gate relaxed it passes.
    reverse = make(database.parent, "check", env={"BASE": str(compared)})
    assert all(": behavioural test " in line for line in reverse.stdout.splitlines() if line.startswith("gate: "))
    relaxed = tiny_settings_with(tmp_path / "relaxed.toml", "[compare]\nmax_failure_rise = 1.0\n")
    better = make(database.parent, "check", config=relaxed, env={"BASE": str(compared)})
    assert better.returncode == 0, better.stdout + better.stderr
    assert "\nno gate crossed: 3 pair(s) compared with " in better.stdout


def test_the_compare_page_lists_the_flips_and_a_text_shows_both_sides(compared, monkeypatch):
    con = open_database(compared)
    broken = con.execute("select count(*) from flips where model = 'dense' and direction = 'broken'").fetchone()[0]
    worst = con.execute("select text_id from flips where model = 'dense' order by rank limit 1").fetchone()[0]
    con.close()
    at = run_page(monkeypatch, compared, "compare")
    assert at.metric[0].label == "Broken" and at.metric[0].value == f"{broken:,}"
    assert worst in set(at.dataframe[1].value["text_id"])
    shown = "\n".join(str(e.value) for kind in ("caption", "markdown") for e in getattr(at, kind))
    assert "Compared with the base" in shown and "Texts matched by id: 400 in both" in shown
    at = run_page(monkeypatch, compared, "samples", id=str(worst))
    sides = [e.value for e in at.markdown if e.value.startswith("**the base's dense** said")]
    assert sides, "the base's verdict stands beside this build's"
    overview = run_page(monkeypatch, compared, "overview")
    assert any("Compared with the base" in e.value for e in overview.caption)


def test_within_one_build_the_flips_are_the_cohorts(db):
    flips = dict(
        db.execute(
            "select direction, count(*) from flips where base_model = 'dense' and model = 'cnn' group by direction"
        ).fetchall()
    )
    cohorts = dict(
        db.execute(
            "select cohort, count(*) from model_agreement join texts using (text_id) "
            "where subset = 'test' group by cohort"
        ).fetchall()
    )
    assert (flips.get("broken", 0), flips.get("fixed", 0)) == (cohorts.get("dense only", 0), cohorts.get("cnn only", 0))
    assert db.execute("select within, base_file from comparison").fetchone() == (True, None)


def test_n_classes_every_pair_and_class(tickets_database):
    con = open_database(tickets_database)
    pairs = con.execute("select base_model, model from comparison_pairs order by rank").fetchall()
    classes = {row[0] for row in con.execute("select label from labels").fetchall()}
    per_class = con.execute(
        "select base_model, model, metric, class from comparison_metrics where class is not null"
    ).fetchall()
    accuracy = con.execute(
        "select c.before, m.accuracy from comparison_metrics c join model_metrics m "
        "on m.model = c.base_model and m.subset = 'test' where c.metric = 'accuracy' "
        "and c.class is null"
    ).fetchall()
    con.close()
    assert len(classes) == 3 and pairs == [("dense", "cnn"), ("dense", "small"), ("cnn", "small")]
    for pair in pairs:
        for metric in ("accuracy", "f1", "loss", "ece"):
            assert {c for b, m, name, c in per_class if (b, m) == pair and name == metric} == classes, (pair, metric)
    assert all(before == pytest.approx(measured) for before, measured in accuracy)


def test_changed_data_is_counted_and_its_features_shift(database, tmp_path):
    # The base's data, with its shortest texts removed, a few relabelled and a few rewritten: another data file.
    changed = tmp_path / "changed.duckdb"
    shutil.copy(database, changed)
    with duckdb.connect(str(changed)) as con:
        con.execute("delete from texts where n_tokens < (select median(n_tokens) from texts)")
        con.execute(
            "update texts set label = case label when 'positive' then 'negative' else 'positive' end "
            "where text_id in (select text_id from texts where subset = 'test' order by text_id limit 5)"
        )
        con.execute("update texts set text = text || ' Edited.' where text_id % 7 = 0")
        con.execute("update meta set value = 'another' where key = 'dataset_sha256'")
        kept, rewritten = con.execute("select count(*), count(*) filter (where text_id % 7 = 0) from texts").fetchone()
    config = load_config()
    with duckdb.connect() as con:
        attach(con, changed, alias="this", what="")
        attach(con, database)
        found = compare(con, Sides("this", "base"), {**config, "compare": {**config["compare"], "base": "b"}})
    summary = found.summary.iloc[0]
    assert (summary.matched, summary.added, summary.removed) == (kept, 0, 400 - kept)
    assert (summary.relabelled, summary.changed) == (5, rewritten)
    shift = found.features.set_index("feature")
    assert shift.index[0] in {"length_tokens", "length_chars"}, "the length moved most"
    assert shift.loc["length_tokens", "effect_size"] > 0.5 and shift.loc["length_tokens", "p_value"] < 1e-6
    assert shift.loc["length_tokens", "after"] > shift.loc["length_tokens", "before"]


# --- bad bases: one line each, and the database kept ------------------------------------------------------------


@pytest.fixture(scope="module")
def bad_build(build_dir, tmp_path_factory) -> Path:
    return copy_build(build_dir, tmp_path_factory.mktemp("bad-base") / "build")


def edited_copy(database: Path, to: Path, *statements: str) -> Path:
    shutil.copy(database, to)
    with duckdb.connect(str(to)) as con:
        for sql in statements:
            con.execute(sql)
    return to


def fails_cleanly(build: Path, base: Path, tarball: Path, *words: str, config: Path | None = None) -> str:
    before = (build / "reviewlens.duckdb").read_bytes()
    options = {"config": config} if config else {}
    result = make(build, "all", data=tarball, env={"BASE": str(base)}, **options)
    assert result.returncode != 0
    line = last_error_line(result)
    assert "Traceback" not in result.stderr and line, result.stderr[-2000:]
    for word in words:
        assert word in line, line
    assert (build / "reviewlens.duckdb").read_bytes() == before
    assert not list(build.glob(".*tmp*")), "a temporary file was left behind"
    return line


def test_a_base_of_another_schema_version(bad_build, database, tarball, tmp_path):
    old = edited_copy(database, tmp_path / "old.duckdb", "update meta set value = '6' where key = 'schema_version'")
    fails_cleanly(bad_build, old, tarball, f"BASE={old}", "schema version 6", "rebuild it")


def test_a_base_that_is_the_build_itself_or_no_database(bad_build, tarball, tmp_path):
    fails_cleanly(bad_build, bad_build / "reviewlens.duckdb", tarball, "is this build's own file")
    (tmp_path / "notes.txt").write_text("not a database")
    fails_cleanly(bad_build, tmp_path / "notes.txt", tarball, "not a reviewlens database")
    fails_cleanly(bad_build, tmp_path / "missing.duckdb", tarball, "BASE=", "no such file")


def test_a_base_with_no_text_in_common(bad_build, database, tarball, tmp_path):
    other = edited_copy(
        database,
        tmp_path / "other.duckdb",
        "update texts set source_id = 'elsewhere/' || source_id, text = 'Elsewhere: ' || text",
    )
    fails_cleanly(bad_build, other, tarball, "no text in common with this build (matched by id)")


def test_a_base_with_other_labels_and_the_setting_that_maps_them(bad_build, database, tarball, tmp_path):
    upper = edited_copy(
        database,
        tmp_path / "upper.duckdb",
        "update labels set label = upper(label)",
        "update texts set label = upper(label)",
        "update predictions set predicted_label = upper(predicted_label)",
    )
    fails_cleanly(
        bad_build, upper, tarball, "the label sets differ", "only in the base: NEGATIVE, POSITIVE", "label_map"
    )
    mapped = tiny_settings_with(
        tmp_path / "mapped.toml", '[compare]\nlabel_map = [["NEGATIVE", "negative"], ["POSITIVE", "positive"]]\n'
    )
    result = make(bad_build, "all", data=tarball, config=mapped, env={"BASE": str(upper)})
    assert result.returncode == 0, result.stderr[-2000:]
    con = open_database(bad_build / "reviewlens.duckdb")
    assert con.execute("select sum(broken + fixed) from comparison_pairs").fetchone()[0] == 0
    assert con.execute("select relabelled, paired_texts from comparison").fetchone() == (0, 200)
    con.close()


def test_a_pair_naming_a_model_that_is_not_there(bad_build, database, tarball, tmp_path):
    config = tiny_settings_with(tmp_path / "pairs.toml", '[compare]\npairs = [["dense", "nope"]]\n')
    fails_cleanly(bad_build, database, tarball, "[compare] pairs names 'nope', which this build has not", config=config)


def test_make_check_needs_a_base_and_a_database(database, tmp_path):
    result = make(database.parent, "check")
    assert result.returncode != 0
    assert last_error_line(result) == (
        "error: make check needs the build to compare with: make check BASE=path/to/reviewlens.duckdb"
    )
    result = make(tmp_path / "nothing", "check", env={"BASE": str(database)})
    assert result.returncode != 0 and "no database; run make all first" in last_error_line(result)
