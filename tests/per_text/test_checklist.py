"""Behavioural tests (pipeline/per_text/behaviour/): each change to a text (perturb.py) changes what it should and
nothing else, the suite (suite.py, suite.toml) fits the label set, the cases (cases.py) are made as each test says,
and every mistake in a user's tests file is a one-line error naming the file and test."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.data.text import tokenize_all
from pipeline.errors import PipelineError
from pipeline.per_text.behaviour import suite
from pipeline.per_text.behaviour.cases import make_cases
from pipeline.per_text.behaviour.perturb import (
    FEMALE_NAMES,
    MALE_NAMES,
    add_sentence,
    fill,
    negate,
    replace_names,
    replace_numbers,
    replace_pairs,
    token_spans,
    typos,
)
from pipeline.per_text.behaviour.suite import builtin_tests, read_user_tests

SENTIMENT = ["negative", "positive"]
TREC = ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
REVIEW = "I didn't like it.<br /><br />The acting was GREAT, but the plot was weak and slow."


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# --- words as the pipeline sees them -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        REVIEW,
        "Don't miss it: well-made, 10/10 ½ snake_case",
        "<i>Italic</i>  and <a href='x'>a   link</a> 'quoted' rock`n`roll it’s",
        "a < b and c > d, Amélie & Кино",
        "",
        "<br /><br />...",
    ],
)
def test_token_spans_are_the_pipeline_tokens(text):
    assert [token for token, _, _ in token_spans(text)] == tokenize_all(pd.Series([text]))[0]


# --- perturbations -----------------------------------------------------------------------------------------------


def adjacent_swap(before: str, after: str) -> bool:
    """Whether `after` is `before` with two adjacent letters swapped (ignoring case), nothing else changed."""
    diff = [i for i, (a, b) in enumerate(zip(before.lower(), after.lower(), strict=True)) if a != b]
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and before.lower()[diff[0]] == after.lower()[diff[1]]
        and before.lower()[diff[1]] == after.lower()[diff[0]]
    )


@pytest.mark.parametrize("seed", range(30))
def test_typos_swap_adjacent_letters_in_one_or_two_words(seed):
    after = typos(REVIEW, rng(seed))
    assert after is not None and len(after) == len(REVIEW)
    before_words, after_words = REVIEW.split(" "), after.split(" ")
    changed = [(b, a) for b, a in zip(before_words, after_words, strict=True) if b != a]
    assert 1 <= len(changed) <= 2
    for b, a in changed:
        assert adjacent_swap(b, a), (b, a)
        assert a[0] == b[0]  # the first letter stays
        assert [c.isupper() for c in a] == [c.isupper() for c in b]  # the case pattern stays
        assert len(re.sub(r"[^a-z]", "", b.lower())) >= 4
    assert "<br /><br />" in after


def test_typos_use_both_one_and_two_words_across_seeds():
    counts = set()
    for seed in range(40):
        after = typos(REVIEW, rng(seed))
        counts.add(sum(b != a for b, a in zip(REVIEW.split(" "), after.split(" "), strict=True)))
    assert counts == {1, 2}


def test_typos_need_a_word_whose_swap_changes_it():
    assert typos("ok", rng()) is None
    assert typos("aaaa eee to be 1234", rng()) is None  # a swap in "aaaa" changes nothing; the rest are too short
    assert typos("<span class='important'>ok</span>", rng()) is None  # markup is not text
    assert typos("an idea", rng()) == "an idae"  # "idea": the only swaps keep its first letter


def test_names_are_replaced_consistently_by_other_names_of_the_same_list():
    text = "John met Mary. Later John (Mary's friend) called Johnson and john."
    for seed in range(20):
        after = replace_names(text, rng(seed))
        match = re.fullmatch(r"(\w+) met (\w+)\. Later (\w+) \((\w+)'s friend\) called Johnson and john\.", after)
        assert match, after
        john, mary, john_again, mary_again = match.groups()
        assert john == john_again and mary == mary_again
        assert john in MALE_NAMES and john != "John"
        assert mary in FEMALE_NAMES and mary != "Mary"


def test_two_names_never_become_one():
    text = " ".join(MALE_NAMES[:3])
    for seed in range(20):
        assert len(set(replace_names(text, rng(seed)).split())) == 3


def test_names_absent_give_none():
    assert replace_names("ok", rng()) is None
    assert replace_names("johnny and johnson met mark", rng()) is None


def test_numbers_keep_their_digit_counts_and_differ():
    text = "In 1999 I paid 25 dollars, in 1999 again; 0 days, room 05, 7."
    for seed in range(30):
        after = replace_numbers(text, rng(seed))
        before_numbers, after_numbers = re.findall(r"\d+", text), re.findall(r"\d+", after)
        assert re.sub(r"\d", "#", after) == re.sub(r"\d", "#", text)  # only digits changed, counts kept
        for old, new in zip(before_numbers, after_numbers, strict=True):
            assert new != old and len(new) == len(old)
            if not old.startswith("0"):
                assert not new.startswith("0")
        assert after_numbers[0] == after_numbers[2]  # 1999 both times gets the same replacement


def test_ratings_are_not_numbers_to_change():
    assert replace_numbers("A 7/10 film, 3 out of 10 for the plot, 4 stars", rng()) is None
    after = replace_numbers("Seen 2 times: 8.5/10", rng())
    assert after.endswith(": 8.5/10") and not after.startswith("Seen 2 ")
    assert replace_numbers("ok", rng()) is None
    assert replace_numbers('<font size="3">no numbers</font>', rng()) is None


def test_negate_finds_tokens_as_the_pipeline_does_and_changes_nothing_else():
    text = "I don't know.<br /><br />DON'T go, it's Great; great!"
    assert negate(text, "dont", 0) == "I not don't know.<br /><br />DON'T go, it's Great; great!"
    assert negate(text, "dont", 1) == "I don't know.<br /><br />not DON'T go, it's Great; great!"
    assert negate(text, "great", 0) == "I don't know.<br /><br />DON'T go, it's not Great; great!"
    assert negate(text, "great", 1) == "I don't know.<br /><br />DON'T go, it's Great; not great!"
    tokens = tokenize_all(pd.Series([text, negate(text, "great", 1)]))
    assert tokens[1] == tokens[0][:-1] + ["not", "great"]


def test_negate_gives_none_when_the_occurrence_is_absent():
    assert negate("Great film", "great", 1) is None
    assert negate("Great film", "awful", 0) is None
    assert negate("a<br />b", "br", 0) is None  # markup is not a word
    assert negate("ok", "ok", -1) is None


def test_replace_pairs_whole_words_ignoring_case_keeping_a_leading_capital():
    text = "Refund? My refund, refunds, refund's and REFUND."
    assert replace_pairs(text, [("refund", "money back")]) == (
        "Money back? My money back, refunds, refund's and Money back."
    )
    assert replace_pairs("cancel then stop", [("cancel", "stop"), ("stop", "cancel")]) == "stop then cancel"
    assert replace_pairs("I don't know", [("don", "do")]) is None  # "don't" is one word
    assert replace_pairs("precancel O'Neil", [("cancel", "stop"), ("neil", "x")]) is None  # both one word
    assert replace_pairs("log in or log out", [("log", "sign"), ("log in", "sign on")]) == "sign on or sign out"
    assert replace_pairs("ok", [("refund", "money")]) is None


def test_add_sentence_and_fill():
    assert add_sentence("Fine.", "Done.") == "Fine. Done."
    assert add_sentence("Fine.\n", "Done.") == "Fine.\nDone."
    assert fill("{a}-{b}", {"a": ["1", "2"], "b": ["x", "y", "z"]}) == ["1-x", "1-y", "1-z", "2-x", "2-y", "2-z"]
    assert fill("{b}{a}", [("a", ["1"]), ("b", ["x", "y"])]) == ["x1", "y1"]


# --- the built-in suite ------------------------------------------------------------------------------------------


def test_builtin_suite_applies_in_full_to_sentiment_labels():
    suite = builtin_tests(SENTIMENT)
    assert [reason for _, reason in suite] == [None] * len(suite)
    kinds = {test.name: test.kind for test, _ in suite}
    assert {name for name, kind in kinds.items() if kind == "invariance"} == {
        "typos",
        "person names",
        "numbers",
        "neutral sentence",
    }
    assert {name for name, kind in kinds.items() if kind == "direction"} == {"negation", "intensifier"}
    assert len([kind for kind in kinds.values() if kind == "template"]) == 3
    assert len(kinds) == len(suite)  # unique names


def test_builtin_suite_finds_sentiment_classes_by_name_ignoring_case():
    suite = {test.name: (test, reason) for test, reason in builtin_tests(["NEG", "neutral", "Pos"])}
    assert all(reason is None for _, reason in suite.values())
    assert suite["positive adjectives"][0].label == "Pos"
    assert suite["negated positive"][0].label == "NEG"


def test_builtin_direction_and_template_tests_do_not_apply_to_other_labels():
    for test, reason in builtin_tests(TREC):
        if test.kind == "invariance":
            assert reason is None
        else:
            assert reason == "needs a negative and a positive class; the labels are ABBR, DESC, ENTY, HUM, LOC, NUM"


# --- cases -------------------------------------------------------------------------------------------------------


SAMPLE = pd.DataFrame(
    {
        "text_id": [10, 11, 12, 13],
        "text": [
            "John said the acting was great in 1999.",
            "ok",
            "Mary hated it: an awful plot, 2 hours long.",
            "Wonderful music, wonderful story.",
        ],
        "label": ["positive", "positive", "negative", "positive"],
    }
)
STRONGEST = pd.DataFrame(
    {
        "text_id": [10, 12, 13, 11],
        "word": ["great", "awful", "wonderful", "absent"],
        "occurrence": [0, 0, 1, 0],
        "label": ["positive", "negative", "positive", "positive"],
    }
)


def sentiment_cases(seed: int = 0):
    tests = [test for test, _ in builtin_tests(SENTIMENT)]
    return make_cases(tests, SAMPLE, SENTIMENT, STRONGEST, rng(seed))


def test_make_cases_counts_skipped_texts_and_stores_only_changed_ones():
    cases, tests = sentiment_cases()
    assert list(cases.columns) == ["case_id", "test", "text_id", "before", "after", "label", "expect"]
    assert cases["case_id"].tolist() == list(range(1, len(cases) + 1))
    assert str(cases["text_id"].dtype) == "Int64"
    perturbed = cases[cases["before"].notna()]
    assert (perturbed["before"] != perturbed["after"]).all()
    row = tests.set_index("test")
    assert row.loc["typos", ["cases", "skipped"]].tolist() == [3, 1]  # "ok" has no word to swap
    assert row.loc["person names", ["cases", "skipped"]].tolist() == [2, 2]
    assert row.loc["numbers", ["cases", "skipped"]].tolist() == [2, 2]
    assert row.loc["neutral sentence", ["cases", "skipped"]].tolist() == [4, 0]
    assert row.loc["negation", ["cases", "skipped"]].tolist() == [3, 1]  # text 11 lacks its word
    assert row.loc["intensifier", ["cases", "skipped"]].tolist() == [4, 0]
    assert row.loc["positive adjectives", ["cases", "skipped"]].tolist() == [80, 0]
    assert tests["applicable"].all() and tests["reason"].isna().all()
    assert len(cases) == tests["cases"].sum()


def test_make_cases_sets_expectations_by_kind():
    cases, _ = sentiment_cases()
    # The sentences of the built-in suite (suite.toml): of the class the baseline predicts, and neutral ones.
    appended = {test.name: test for test, _ in builtin_tests(SENTIMENT)}
    per_class = dict(appended["intensifier"].class_sentences)
    by_test = dict(tuple(cases.groupby("test")))
    invariance = by_test["typos"]
    assert (invariance["expect"] == "same").all() and invariance["label"].isna().all()
    negation = by_test["negation"].set_index("text_id")
    assert negation.loc[13, "after"] == "Wonderful music, not wonderful story."
    assert negation.loc[12, "label"] == "negative" and (negation["expect"] == "down").all()
    intensifier = by_test["intensifier"].set_index("text_id")
    assert (intensifier["expect"] == "up").all()
    assert intensifier.loc[12, "label"] == "negative"
    assert intensifier.loc[12, "after"].removeprefix(SAMPLE.loc[2, "text"] + " ") in per_class["negative"]
    assert intensifier.loc[10, "after"].removeprefix(SAMPLE.loc[0, "text"] + " ") in per_class["positive"]
    neutral = by_test["neutral sentence"].set_index("text_id")
    assert neutral.loc[11, "after"].removeprefix("ok ") in appended["neutral sentence"].sentences
    negated = by_test["negated positive"]
    assert negated["text_id"].isna().all() and negated["before"].isna().all()
    assert (negated["label"] == "negative").all() and (negated["expect"] == "label").all()
    assert "The acting was not great." in set(negated["after"])


def test_no_strongest_words_skips_every_text_for_the_direction_tests():
    tests = [test for test, _ in builtin_tests(SENTIMENT) if test.kind == "direction"]
    cases, table = make_cases(tests, SAMPLE, SENTIMENT, None, rng())
    assert cases.empty and table["skipped"].tolist() == [4, 4]


def test_not_applicable_tests_are_listed_with_no_cases():
    tests = [test for test, _ in builtin_tests(TREC)]
    cases, table = make_cases(tests, SAMPLE, TREC, None, rng())
    na = table[~table["applicable"]]
    assert set(na["test"]) == {
        "negation",
        "intensifier",
        "positive adjectives",
        "negative adjectives",
        "negated positive",
    }
    assert (na["cases"] == 0).all() and na["reason"].str.startswith("needs a negative").all()
    assert set(cases["test"]) == {"typos", "person names", "numbers", "neutral sentence"}


def test_same_seed_same_cases_and_another_seed_other_cases():
    first, first_table = sentiment_cases(1)
    again, again_table = sentiment_cases(1)
    other, _ = sentiment_cases(2)
    pd.testing.assert_frame_equal(first, again)
    pd.testing.assert_frame_equal(first_table, again_table)
    assert not first["after"].equals(other["after"])


def test_a_text_gets_the_same_case_whatever_else_is_asked_for():
    tests = [test for test, _ in builtin_tests(SENTIMENT)]
    alone, _ = make_cases(tests[:1], SAMPLE.iloc[[2]], SENTIMENT, None, rng(5))
    together, _ = make_cases(tests, SAMPLE, SENTIMENT, STRONGEST, rng(5))
    typo = together[(together["test"] == "typos") & (together["text_id"] == 12)]
    assert alone["after"].tolist() == typo["after"].tolist()


# --- user tests --------------------------------------------------------------------------------------------------


TICKETS = ["billing", "urgent", "other"]
VALID = """
[[test]]
name = "refund wording"
kind = "invariance"
replace = [["refund", "reimbursement"], ["cancel", "stop"]]

[[test]]
name = "urgent means urgent"
kind = "direction"
replace = [["soon", "immediately"]]
label = "urgent"
expect = "up"

[[test]]
name = "billing questions"
kind = "template"
template = "I was charged {amount} twice for my {plan}."
label = "billing"
[test.words]
amount = ["$10", "$25"]
plan = ["subscription", "order"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "my_tests.toml"
    path.write_text(text)
    return path


def test_a_valid_file_gives_the_three_kinds_with_their_cases(tmp_path):
    tests = read_user_tests(write(tmp_path, VALID), TICKETS)
    assert [(test.name, test.kind, test.source) for test in tests] == [
        ("refund wording", "invariance", "my_tests.toml"),
        ("urgent means urgent", "direction", "my_tests.toml"),
        ("billing questions", "template", "my_tests.toml"),
    ]
    assert all(test.description and "\n" not in test.description for test in tests)
    sample = pd.DataFrame(
        {
            "text_id": [1, 2, 3],
            "text": ["Cancel my order and refund me soon", "Please call me soon.", "Thanks!"],
            "label": ["billing", "urgent", "other"],
        }
    )
    cases, table = make_cases(tests, sample, TICKETS, None, rng())
    rows = cases.set_index(["test", "text_id"])
    assert rows.loc[("refund wording", 1), "after"] == "Stop my order and reimbursement me soon"
    assert rows.loc[("refund wording", 1), "expect"] == "same"
    assert rows.loc[("urgent means urgent", 2), "after"] == "Please call me immediately."
    assert rows.loc[("urgent means urgent", 2), ["label", "expect"]].tolist() == ["urgent", "up"]
    template = cases[cases["test"] == "billing questions"]
    assert template["after"].tolist() == [
        "I was charged $10 twice for my subscription.",
        "I was charged $10 twice for my order.",
        "I was charged $25 twice for my subscription.",
        "I was charged $25 twice for my order.",
    ]
    assert (template["label"] == "billing").all()
    assert table.set_index("test")["skipped"].tolist() == [2, 1, 0]  # "Thanks!" has neither word


TEST = '[[test]]\nname = "t1"\n'
BAD_FILES = {
    "not toml": ("[[test]\nname = ", None, "not valid TOML"),
    "no tests": ('title = "x"\n', None, "no [[test]] entries"),
    "empty test list": ("test = []\n", None, "no [[test]] entries"),
    "no name": ('[[test]]\nkind = "invariance"\nreplace = [["a", "b"]]\n', "test 1", "no name"),
    "second has no name": (
        TEST + 'kind = "invariance"\nreplace = [["a", "b"]]\n[[test]]\nkind = "invariance"\n',
        "test 2",
        "no name",
    ),
    "unknown kind": (TEST + 'kind = "fuzz"\n', "t1", "invariance, direction, template"),
    "no kind": (TEST, "t1", "invariance, direction, template"),
    "placeholder without words": (
        TEST + 'kind = "template"\ntemplate = "a {x} {y}"\nlabel = "billing"\n[test.words]\nx = ["1"]\n',
        "t1",
        "{y} has no word list",
    ),
    "unused word list": (
        TEST + 'kind = "template"\ntemplate = "a {x}"\nlabel = "billing"\n[test.words]\nx = ["1"]\nz = ["2"]\n',
        "t1",
        "'z' is not used",
    ),
    "empty word list": (
        TEST + 'kind = "template"\ntemplate = "a {x}"\nlabel = "billing"\n[test.words]\nx = []\n',
        "t1",
        "'x' is empty",
    ),
    "bad placeholder": (
        TEST + 'kind = "template"\ntemplate = "a {x:>3}"\nlabel = "billing"\n[test.words]\nx = ["1"]\n',
        "t1",
        "{x:>3}",
    ),
    "unknown label": (
        TEST + 'kind = "direction"\nreplace = [["a", "b"]]\nlabel = "spam"\nexpect = "up"\n',
        "t1",
        "billing, urgent, other",
    ),
    "bad expect": (
        TEST + 'kind = "direction"\nreplace = [["a", "b"]]\nlabel = "urgent"\nexpect = "higher"\n',
        "t1",
        '"up"',
    ),
    "replace not pairs": (TEST + 'kind = "invariance"\nreplace = ["a", "b"]\n', "t1", "[from, to]"),
    "replace pair of three": (TEST + 'kind = "invariance"\nreplace = [["a", "b", "c"]]\n', "t1", "[from, to]"),
    "replace with a number": (TEST + 'kind = "invariance"\nreplace = [["a", 1]]\n', "t1", "[from, to]"),
    "replace a string": (TEST + 'kind = "invariance"\nreplace = "a"\n', "t1", "[from, to]"),
    "duplicate name": (
        TEST + 'kind = "invariance"\nreplace = [["a", "b"]]\n' + TEST + 'kind = "invariance"\nreplace = [["c", "d"]]\n',
        "t1",
        "already taken",
    ),
    "built-in name": (
        '[[test]]\nname = "Typos"\nkind = "invariance"\nreplace = [["a", "b"]]\n',
        "Typos",
        "already taken",
    ),
    "missing replace": (TEST + 'kind = "invariance"\n', "t1", "'replace'"),
    # What only the built-in suite may say, its file read by the same reader.
    "a built-in change": (TEST + 'kind = "invariance"\nchange = "typos"\n', "t1", "no setting 'change'"),
    "unknown setting": (TEST + 'kind = "invariance"\nreplace = [["a", "b"]]\nlabels = "x"\n', "t1", "'labels'"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_every_mistake_is_one_line_naming_the_file_and_test(tmp_path, case):
    text, test, message = BAD_FILES[case]
    path = write(tmp_path, text)
    with pytest.raises(PipelineError) as error:
        read_user_tests(path, TICKETS)
    line = str(error.value)
    assert "\n" not in line and line.startswith(f"{path}: ")
    assert message in line
    if test is not None:
        assert (f"test {test!r}" if not test.startswith("test ") else test) in line
    assert ";" in line  # it says what to do


def test_a_missing_file_and_a_binary_file_are_one_line_errors(tmp_path):
    for path, message in [
        (tmp_path / "absent.toml", "not found"),
        (tmp_path, "folder"),
    ]:
        with pytest.raises(PipelineError, match=message) as error:
            read_user_tests(path, TICKETS)
        assert "\n" not in str(error.value) and str(error.value).startswith(str(path))
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00name")
    with pytest.raises(PipelineError, match="not valid TOML") as error:
        read_user_tests(binary, TICKETS)
    assert "\n" not in str(error.value)


def test_the_module_docstring_example_is_a_valid_file(tmp_path):
    example = re.search(r"\n\n(    \[\[test\]\].*?)\n\n[A-Z]", suite.__doc__, re.S).group(1)
    tests = read_user_tests(write(tmp_path, "\n".join(line[4:] for line in example.splitlines())), TICKETS)
    assert [test.kind for test in tests] == ["invariance", "direction", "template"]


def test_the_built_in_suite_is_read_as_a_users_file_is():
    # Every entry of suite.toml becomes a test, in the file's order; read as a user's file, its built-in keys are
    # refused.
    tests = suite.read_tests(suite.BUILT_IN, SENTIMENT, builtin=True)
    assert [test.name for test in tests] == [
        entry["name"] for entry in tomllib.loads(suite.BUILT_IN.read_text())["test"]
    ]
    assert all(test.source == "built-in" and test.description for test in tests)
    with pytest.raises(PipelineError, match="invariance tests have no setting 'change'"):
        suite.read_tests(suite.BUILT_IN, SENTIMENT)
