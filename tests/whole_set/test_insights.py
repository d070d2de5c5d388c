"""Metadata, the dashboard's queries and the insight finders, on hand-made and planted texts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.per_text.metadata import metadata_table
from tests.imdb_fixture import DUPLICATE_TEXT, planted_duplicates, planted_flips
from viewer.database import query


def test_metadata_of_hand_made_texts():
    texts = pd.DataFrame(
        {
            "text_id": [0, 1, 2],
            "text": [
                "A wonderful, brilliant film!",
                "I didn't like it, but it was not bad. However, never again.",
                "<br /><br />",
            ],
        }
    )
    table = metadata_table(texts, jobs=1).set_index("text_id")
    assert table.loc[0, "polarity"] > 0.5 and table.loc[0, "subjectivity"] > 0.5
    assert table.loc[1, "n_negations"] == 3  # didnt, not, never
    assert table.loc[1, "n_contrasts"] == 2  # but, however
    assert table.loc[2].tolist() == [0, 0, 0, 0]


def test_metadata_in_the_database_matches_the_tokens(db, tarball):
    # A known text: its length and out-of-vocabulary count follow from its tokens and the vocabulary.
    row = db.execute(
        "select n_tokens, n_oov, len(tokens(text)), n_negations from texts where text = $t", {"t": DUPLICATE_TEXT}
    ).fetchone()
    assert row[0] == row[2] == 15 and row[1] == 0 and row[3] == 0
    assert db.execute("select count(*) from texts where polarity is null or subjectivity is null").fetchone()[0] == 0


def test_histogram_counts_every_text_once(db):
    bins = query(db, "feature_histogram", model="cnn", feature="length_tokens", subset="test", bins=7)
    assert bins["texts"].sum() == 200 and len(bins) <= 7
    assert (bins["ci_low"] <= bins["mean_loss"]).all() and (bins["mean_loss"] <= bins["ci_high"]).all()
    mean = db.execute(
        "select avg(loss) from predictions join texts using (text_id) where model = 'cnn' and subset = 'test'"
    ).fetchone()[0]
    assert np.average(bins["mean_loss"], weights=bins["texts"]) == pytest.approx(mean)


def test_correlations_hold_their_intervals_and_match_a_direct_computation(db):
    table = query(db, "feature_correlations", model="dense", subset="test")
    assert len(table) == 11
    assert ((table["ci_low"] <= table["spearman"] + 1e-9) & (table["spearman"] <= table["ci_high"] + 1e-9)).all()
    frame = db.execute(
        "select value, loss from text_features where model = 'dense' and subset = 'test' and feature = 'length_tokens'"
    ).df()
    expected = frame["value"].rank().corr(frame["loss"].rank())
    assert table.set_index("feature").loc["length_tokens", "spearman"] == pytest.approx(expected, abs=1e-9)


def test_seed_findings_verdicts_follow_the_intervals(db):
    findings = query(db, "seed_findings", subset="test")
    assert len(findings) == 10 and findings["finding"].nunique() == 5
    signs = {"length_tokens": -1, "oov_count": 1, "subjectivity": -1, "confidence": -1, "polarity_strength": -1}
    for row in findings.itertuples():
        low, high = sorted((row.ci_low * signs[row.feature], row.ci_high * signs[row.feature]))
        expected = "holds" if low > 0 else "reversed" if high < 0 else "no clear effect"
        assert row.verdict == expected


def paths(db, kind: str) -> set[str]:
    return {row[0] for row in db.execute(
        "select texts.source_id from insights join insight_texts using (insight_id) join texts using (text_id)"
        " where kind = $k", {"k": kind}).fetchall()}  # fmt: skip


def test_planted_duplicates_across_splits_are_found(db):
    assert set(planted_duplicates()) <= paths(db, "duplicates")
    title = db.execute("select title from insights where kind = 'duplicates' order by insight_id").fetchone()[0]
    assert "both the train and the test split" in title


def test_planted_flipped_labels_are_found_as_likely_mislabelled(db):
    assert set(planted_flips()) <= paths(db, "mislabelled")


def test_insights_are_ranked_and_their_numbers_hold(db):
    insights = query(db, "insights")
    assert list(insights["insight_id"]) == list(range(1, len(insights) + 1))
    assert list(insights["importance"]) == sorted(insights["importance"], reverse=True)
    for row in insights[insights["kind"].isin(["cluster", "range"])].itertuples():
        members = db.execute(
            "select avg(loss), count(*) from insight_texts join predictions using (text_id)"
            " where insight_id = $i and model = $m",
            {"i": row.insight_id, "m": row.model},
        ).fetchone()
        assert members[1] == row.texts
        assert members[0] == pytest.approx(row.mean_loss, rel=1e-5)
        assert row.loss_ratio >= 1.5


def slice_members(db, predicates: list[str], model: str) -> set[int]:
    """The test texts that have every fact of a slice, computed afresh from the database's views."""
    members = None
    for predicate in predicates:
        if predicate.startswith("word:"):
            sql = "select text_id from texts where subset = 'test' and list_contains(tokens(text), $value)"
            params = {"value": predicate[5:]}
        elif predicate.startswith("negations "):
            sql = f"select text_id from texts where subset = 'test' and n_negations {predicate[10:]}"
            params = {}
        elif " in [" in predicate:
            feature, bounds = predicate.split(" in [")
            low, high = (float(v) for v in bounds[:-1].split(", "))
            upper = "<=" if bounds.endswith("]") else "<"
            sql = (f"select text_id from text_features where model = $model and subset = 'test' and "
                   f"feature = $feature and value >= $low and value {upper} $high")  # fmt: skip
            params = {"model": model, "feature": feature, "low": low, "high": high}
        else:
            feature, value = predicate.split(" = ")
            sql = ("select text_id from text_categories where model = $model and subset = 'test' and "
                   "category = $feature and value = $value")  # fmt: skip
            params = {"model": model, "feature": feature, "value": value}
        found = {row[0] for row in db.execute(sql, params).fetchall()}
        members = found if members is None else members & found
    return members


def test_every_slice_holds_exactly_the_texts_with_its_facts_and_errs_above_the_model(db):
    slices = db.execute("select * from slices").df()
    assert len(slices) and set(slices["level"]) >= {1, 2}
    for row in slices.itertuples():
        stored = {r[0] for r in db.execute(
            "select text_id from slice_texts where model = $m and slice = $s", {"m": row.model, "s": row.slice}
        ).fetchall()}  # fmt: skip
        assert stored == slice_members(db, list(row.predicates), row.model), row.description
        wrong = db.execute(
            "select count(*) filter (where not correct), avg(loss) from predictions"
            " join slice_texts using (text_id, model) where model = $m and slice = $s",
            {"m": row.model, "s": row.slice},
        ).fetchone()  # fmt: skip
        assert (row.size, row.errors) == (len(stored), wrong[0])
        assert row.mean_loss == pytest.approx(wrong[1], rel=1e-5)
        assert row.error_rate > row.model_error_rate
        assert row.ci_low <= row.error_rate <= row.ci_high
        assert row.score == pytest.approx(row.size * (row.error_rate - row.model_error_rate))
    scores = slices.sort_values(["model", "slice"]).groupby("model")["score"]
    assert scores.apply(lambda s: s.is_monotonic_decreasing).all()


def test_the_best_slices_are_insights_with_their_texts(db):
    found = db.execute(
        """select insights.insight_id, insights.model, insights.title, insights.texts, slices.size
           from insights join slices on slices.model = insights.model and slices.slice = 1
           where insights.kind = 'slice' and insights.title like '%' || slices.description || ':%'"""
    ).fetchall()
    assert found, "each model's best slice is among the insights"
    for insight_id, model, _, texts, size in found:
        members = {r[0] for r in db.execute(
            "select text_id from insight_texts where insight_id = $i", {"i": insight_id}).fetchall()}  # fmt: skip
        slice_ids = {r[0] for r in db.execute(
            "select text_id from slice_texts where model = $m and slice = 1", {"m": model}).fetchall()}  # fmt: skip
        assert texts == size == len(members) and members == slice_ids
