"""Behavioural tests end to end: the cases the pipeline makes, every model's verdicts, the user's own tests and
their bad input, and what the pages show."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from pipeline.per_text.behaviour import verdicts
from tests.conftest import APP, copy_build, last_error_line, make, tiny_settings_with
from viewer import markup
from viewer.database import open_database
from viewer.session import DB_ENV

USER_TESTS = """
[[test]]
name = "film words"
kind = "invariance"
replace = [["film", "picture"], ["movie", "flick"]]

[[test]]
name = "great stays positive"
kind = "direction"
replace = [["good", "great"]]
label = "positive"
expect = "up"

[[test]]
name = "loved it"
kind = "template"
template = "I {verb} this {thing}."
label = "positive"
[test.words]
verb = ["loved", "adored"]
thing = ["film", "movie", "show"]
"""


def tables(database) -> dict[str, pd.DataFrame]:
    with open_database(database) as con:
        return {
            name: con.execute(f"select * from {name}").df()
            for name in ("behaviour_tests", "behaviour_cases", "behaviour_results", "models", "labels")
        }


def test_every_applicable_test_has_cases_and_every_model_a_verdict_on_each(database):
    found = tables(database)
    tests, cases, results = found["behaviour_tests"], found["behaviour_cases"], found["behaviour_results"]
    assert set(tests["test"]) >= {"typos", "neutral sentence", "negation", "intensifier", "positive adjectives"}
    assert tests["applicable"].all()  # negative and positive: the whole built-in suite fits
    counted = cases.groupby("test").size()
    assert (tests.set_index("test")["cases"] == counted.reindex(tests["test"]).fillna(0)).all()
    assert len(results) == len(cases) * len(found["models"])
    assert set(results.groupby("case_id")["model"].apply(frozenset)) == {frozenset(found["models"]["model"])}
    # A case is a change: no text is stored unchanged as a passing case.
    changed = cases[cases["before"].notna()]
    assert (changed["before"] != changed["after"]).all()
    assert cases.loc[cases["expect"] == "label", "text_id"].isna().all()


def test_sampled_texts_are_either_changed_or_counted_as_skipped(database):
    with open_database(database) as con:
        test_texts = con.execute("select count(*) from texts where subset = 'test'").fetchone()[0]
        config = con.execute("select value from meta where key = 'config'").fetchone()[0]
    sample = min(json.loads(config)["behaviour"]["sample"] or test_texts, test_texts)
    tests = tables(database)["behaviour_tests"]
    perturbing = tests[tests["kind"] != "template"]
    assert ((perturbing["cases"] + perturbing["skipped"]) == sample).all()
    # The generated texts hold no person names: every text is skipped, none passes.
    names = tests.set_index("test").loc["person names"]
    assert names["cases"] == 0 and names["skipped"] == sample


def test_verdicts_follow_the_stored_probabilities(database):
    found = tables(database)
    joined = found["behaviour_results"].merge(found["behaviour_cases"], on="case_id")
    labels = list(found["labels"].sort_values("label_index")["label"])
    tolerance = 0.1
    for row in joined.itertuples():
        after = np.asarray(row.probabilities_after)
        if row.expect == "label":
            expected = labels[int(after.argmax())] != row.label
        else:
            before = np.asarray(row.probabilities_before)
            watched = labels.index(row.label) if isinstance(row.label, str) else 0
            moved = after[watched] - before[watched]
            expected = {
                "same": before.argmax() != after.argmax(),
                "up": moved < -tolerance,
                "down": moved > tolerance,
            }[row.expect]
        assert row.failed == expected, row.case_id
    assert joined["failed"].any() and not joined["failed"].all()


def test_negation_puts_not_before_a_word_of_the_text(database):
    cases = tables(database)["behaviour_cases"]
    negated = cases[cases["test"] == "negation"]
    assert len(negated)
    for before, after in zip(negated["before"], negated["after"], strict=True):
        assert after.replace("not ", "", 1) == before or before in after.replace("not ", "", 1)
        assert len(after) == len(before) + 4


def test_verdicts_of_each_kind():
    cases = pd.DataFrame({"label": [None, None, "b", "b", "b", "a", "a"],
                          "expect": ["same", "same", "up", "up", "down", "label", "label"]})  # fmt: skip
    before = np.array([[0.6, 0.4], [0.6, 0.4], [0.5, 0.5], [0.5, 0.5], [0.5, 0.5], [np.nan] * 2, [np.nan] * 2])
    after = np.array([[0.4, 0.6], [0.9, 0.1], [0.7, 0.3], [0.55, 0.45], [0.3, 0.7], [0.2, 0.8], [0.8, 0.2]])
    failed = verdicts.verdicts(cases, before, after, ["a", "b"], tolerance=0.1)
    assert list(failed) == [True, False, True, False, True, True, False]


def test_a_label_set_without_sentiment_runs_only_the_invariance_tests(tickets_database):
    tests = tables(tickets_database)["behaviour_tests"].set_index("test")
    not_run = tests[~tests["applicable"]]
    assert set(not_run["kind"]) == {"direction", "template"}
    assert (not_run["cases"] == 0).all()
    assert not_run["reason"].str.contains("billing").all()  # the labels it has are named
    assert tests.loc["typos", "applicable"] and tests.loc["typos", "cases"] > 0
    assert tests.loc["numbers", "cases"] > 0  # "order 1234"


@pytest.fixture(scope="module")
def user_build(tmp_path_factory, build_dir, tarball):
    """The tiny build again with the user's own tests: only the behavioural steps and the database rerun."""
    folder = tmp_path_factory.mktemp("user_tests")
    build = copy_build(build_dir, folder / "build")
    tests = folder / "tests.toml"
    tests.write_text(USER_TESTS)
    config = tiny_settings_with(folder / "settings.toml", f'[behaviour]\ntests = "{tests}"\n')
    result = make(build, "all", data=tarball, config=config)
    assert result.returncode == 0, result.stderr[-3000:]
    return build, config, tests, result


def test_user_tests_run_beside_the_built_in_ones(user_build):
    build, _, tests_file, result = user_build
    assert "-m pipeline train" not in result.stdout  # nothing is trained again
    found = tables(build / "reviewlens.duckdb")
    tests = found["behaviour_tests"].set_index("test")
    assert tests.loc["film words", "source"] == tests.loc["loved it", "source"] == tests_file.name
    assert tests.loc["typos", "source"] == "built-in"
    cases = found["behaviour_cases"]
    template = cases[cases["test"] == "loved it"]
    assert sorted(template["after"]) == sorted(
        f"I {verb} this {thing}." for verb in ("loved", "adored") for thing in ("film", "movie", "show")
    )
    assert (template["label"] == "positive").all()
    replaced = cases[cases["test"] == "film words"]
    assert len(replaced) and replaced["after"].str.contains(r"\bpicture\b|\bflick\b", case=False).all()
    assert tests.loc["film words", "cases"] + tests.loc["film words", "skipped"] == tests.loc["typos", "cases"]
    direction = cases[cases["test"] == "great stays positive"]
    assert (direction["expect"] == "up").all()


@pytest.mark.parametrize(
    "content, expected",
    [
        ("[[test]\nname = ", "not valid TOML"),
        ('[[test]]\nname = "odd"\nkind = "sideways"\nreplace = [["a", "b"]]\n', "odd"),
        (
            '[[test]]\nname = "holes"\nkind = "template"\ntemplate = "A {thing} {nope}."\nlabel = "positive"\n'
            '[test.words]\nthing = ["film"]\n',
            "nope",
        ),
        (
            '[[test]]\nname = "empty"\nkind = "template"\ntemplate = "A {thing}."\nlabel = "positive"\n'
            "[test.words]\nthing = []\n",
            "empty",
        ),
    ],
    ids=["not-toml", "unknown-kind", "unknown-placeholder", "empty-word-list"],
)
def test_a_bad_user_test_file_stops_the_build_in_one_line(user_build, tarball, tmp_path, content, expected):
    build, _, _, _ = user_build
    bad = tmp_path / "bad.toml"
    bad.write_text(content)
    config = tiny_settings_with(tmp_path / "settings.toml", f'[behaviour]\ntests = "{bad}"\n')
    before = (build / "reviewlens.duckdb").read_bytes()
    result = make(build, "all", config=config, data=tarball)
    line = last_error_line(result)
    assert result.returncode != 0
    assert str(bad) in line and expected in line, line
    assert (build / "reviewlens.duckdb").read_bytes() == before


def test_marked_changes_are_escaped():
    before, after = markup.marked_change('A <b>good</b> "film" & more', 'A <b>good</b> "flick" & more')
    assert "<mark>&quot;flick&quot;</mark>" in after and "<mark>&quot;film&quot;</mark>" in before
    assert "&lt;b&gt;good&lt;/b&gt;" in after and "<b>" not in after
    _, made_up = markup.marked_change(None, "<script>x</script>")
    assert made_up == "&lt;script&gt;x&lt;/script&gt;"


def test_the_behaviour_page_lists_rates_and_failing_cases(monkeypatch, database):
    monkeypatch.setenv(DB_ENV, str(database))
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("views/behaviour.py").run()
    assert not at.exception and not at.error
    rates = at.dataframe[0].value
    models = tables(database)["models"]["model"]
    assert set(rates["model"]) == set(models)
    assert rates["failure_rate"].between(0, 1).all() and (rates["ci_low"] <= rates["failure_rate"]).all()
    assert any("person names" in c.value for c in at.caption)  # a test with no cases is said so
    failing = rates[rates["failures"] > 0].iloc[0]
    at.selectbox(key="behaviour_test").set_value(failing["test"]).run()
    at.selectbox(key="behaviour_model").set_value(failing["model"]).run()
    assert not at.exception
    headers = [m.value for m in at.markdown if m.value.startswith("**Case")]
    assert len(headers) == min(int(failing["failures"]), 20)
    if failing["kind"] != "template":
        assert "samples?id=" in headers[0]


def test_a_texts_page_lists_its_cases(monkeypatch, database):
    found = tables(database)
    cases = found["behaviour_cases"].dropna(subset=["text_id"])
    text_id = int(cases["text_id"].value_counts().index[0])
    expected = len(cases[cases["text_id"] == text_id]) * len(found["models"])
    monkeypatch.setenv(DB_ENV, str(database))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["id"] = str(text_id)
    at.run()
    at.switch_page("views/samples.py").run()
    assert not at.exception
    listed = [frame.value for frame in at.dataframe if "predicted_after" in frame.value.columns]
    assert len(listed) == 1 and len(listed[0]) == expected
    assert set(listed[0]["test"]) == set(cases.loc[cases["text_id"] == text_id, "test"])
