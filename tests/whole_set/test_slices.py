"""Slice discovery: the search against an exhaustive enumeration, planted slices, its rules, and the Wilson interval."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from pipeline.whole_set import slices
from pipeline.whole_set.slices import COLUMNS, Predicate, search, wilson

# Ways of counting candidates beyond pairs; each must give the same slices.
STRATEGIES = {
    "gram": {"_SECONDS_PER_WORD_ANDED": 1.0},  # a Gram matrix over all columns for every prefix
    "gram-select": {"_SECONDS_PER_WORD_ANDED": 1.0, "_SECONDS_PER_BYTE_GATHERED": 0.0},  # over the used columns
    "bits": {"_SECONDS_PER_WORD_ANDED": 0.0},  # AND and popcount of packed bits
}


def brute_force(predicates: list[Predicate], errors: np.ndarray, min_size: int, max_level: int, top_k: int):
    """Every conjunction, with the rules written out plainly: (predicate names, size, errors, score), best first."""
    n, total = len(errors), int(errors.sum())
    counts = {(): (n, total)}
    found = []
    for level in range(1, max_level + 1):
        for combo in itertools.combinations(range(len(predicates)), level):
            if len({predicates[i].feature for i in combo}) < level:
                continue
            inside = np.logical_and.reduce([predicates[i].mask for i in combo])
            size, wrong = int(inside.sum()), int(errors[inside].sum())
            counts[combo] = (size, wrong)
            if size < min_size or wrong * n <= size * total:  # too small, or score <= 0
                continue
            parents = [counts[sub] for sub in itertools.combinations(combo, level - 1)]
            if any(wrong * parent_size <= parent_wrong * size for parent_size, parent_wrong in parents):
                continue  # not strictly sharper than every parent (this includes holding the same rows)
            names = tuple(predicates[i].name for i in combo)
            found.append((-(wrong * n - size * total), level, names, size, wrong, wrong - size * errors.mean()))
    found.sort()
    return [(names, size, wrong, score) for _, _, names, size, wrong, score in found[:top_k]]


def random_problem(seed: int, rows: int = 2_000, count: int = 12):
    """Masks of varied density, the first four bins of one feature, and two nested planted slices."""
    rng = np.random.default_rng(seed)
    predicates = []
    length = rng.random(rows)
    for i in range(4):  # overlapping bins of one feature: never to be combined
        predicates.append(Predicate("length", f"length>{i}", f"length above {i}", length > 0.2 * i))
    for i in range(4, count):
        density = rng.choice([0.05, 0.2, 0.5, 0.8, 0.95])
        predicates.append(Predicate(f"f{i}", f"p{i:02d}", f"fact {i}", rng.random(rows) < density))
    predicates.append(Predicate("copy", "copy", "a copy of fact 5", predicates[5].mask.copy()))
    rate = np.full(rows, 0.15)
    a, b, c = rng.choice(len(predicates), 3, replace=False)
    rate[predicates[a].mask & predicates[b].mask] = 0.5
    rate[predicates[a].mask & predicates[b].mask & predicates[c].mask] = 0.8
    return predicates, rng.random(rows) < rate


def as_tuples(table: pd.DataFrame):
    return [(tuple(row.predicates), row.size, row.errors, row.score) for row in table.itertuples()]


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
@pytest.mark.parametrize("seed", range(6))
def test_search_equals_brute_force(monkeypatch, strategy, seed):
    for name, value in STRATEGIES[strategy].items():
        monkeypatch.setattr(slices, name, value)
    predicates, errors = random_problem(seed)
    loss = np.random.default_rng(seed).random(len(errors))
    for min_size, max_level, top_k in [(20, 3, 20), (5, 3, 200), (60, 2, 10), (30, 4, 30), (1, 1, 5)]:
        table = search(predicates, errors, loss, min_size, max_level, top_k)
        expected = brute_force(predicates, errors, min_size, max_level, top_k)
        assert len(expected) > 0
        got = as_tuples(table)
        assert [row[:3] for row in got] == [row[:3] for row in expected]
        assert [row[3] for row in got] == pytest.approx([row[3] for row in expected], rel=1e-12, abs=1e-9)
        masks = {predicate.name: predicate.mask for predicate in predicates}
        for row in table.itertuples():
            inside = np.logical_and.reduce([masks[name] for name in row.predicates])
            np.testing.assert_array_equal(row.rows, np.flatnonzero(inside))
            assert row.rows.dtype == np.int64 and row.level == len(row.predicates)
            assert row.mean_loss == pytest.approx(loss[inside].mean())
            assert row.ci_low <= row.error_rate <= row.ci_high
        assert table["rank"].tolist() == list(range(1, len(table) + 1))


def test_pruning_keeps_the_exact_top_k():
    # Beyond what brute force can check quickly: the best 5 with pruning are the first 5 found without any.
    rng = np.random.default_rng(7)
    rows = 10_000
    predicates = [
        Predicate(f"f{i}", f"p{i:02d}", f"fact {i}", rng.random(rows) < rng.uniform(0.05, 0.9)) for i in range(30)
    ]
    rate = np.where(predicates[1].mask & predicates[2].mask & predicates[3].mask, 0.5, 0.2)
    errors = rng.random(rows) < rate
    loss = rng.random(rows)
    everything = search(predicates, errors, loss, 50, 3, 100_000)
    assert len(everything) > 1_000
    for top_k in (1, 5, 20):
        assert as_tuples(search(predicates, errors, loss, 50, 3, top_k)) == as_tuples(everything.head(top_k))


def planted(rows: int = 20_000, seed: int = 3):
    """A and B independent, 60% errors where both hold and 10% elsewhere, among unrelated predicates."""
    rng = np.random.default_rng(seed)
    a, b = rng.random(rows) < 0.3, rng.random(rows) < 0.3
    predicates = [
        Predicate("a", "A", "a holds", a),
        Predicate("b", "B", "b holds", b),
        *[Predicate(f"n{i}", f"noise{i}", f"noise {i}", rng.random(rows) < 0.4) for i in range(8)],
    ]
    errors = rng.random(rows) < np.where(a & b, 0.6, 0.1)
    return predicates, errors, rng.random(rows)


def test_planted_slice_comes_first_with_its_size_and_rate():
    predicates, errors, loss = planted()
    a, b = predicates[0].mask, predicates[1].mask
    best = search(predicates, errors, loss, min_size=50).iloc[0]
    assert best["predicates"] == ["A", "B"] and best["level"] == 2 and best["rank"] == 1
    assert best["description"] == "a holds and b holds"
    assert best["size"] == (a & b).sum()
    assert best["error_rate"] == pytest.approx(errors[a & b].mean())
    assert abs(best["error_rate"] - 0.6) < 0.05
    assert best["ci_low"] < 0.6 < best["ci_high"]
    assert best["score"] == pytest.approx(errors[a & b].sum() - (a & b).sum() * errors.mean())
    assert best["mean_loss"] == pytest.approx(loss[a & b].mean())
    np.testing.assert_array_equal(best["rows"], np.flatnonzero(a & b))


def test_predicates_of_one_feature_are_never_combined():
    predicates, errors, loss = planted()
    a, b = predicates[0].mask, predicates[1].mask
    # Two overlapping bins of one feature whose overlap is exactly the planted slice.
    same = [Predicate("x", "x:low", "x low", a), Predicate("x", "x:high", "x high", b), *predicates[2:]]
    table = search(same, errors, loss, min_size=50)
    assert len(table) > 0
    for names in table["predicates"]:
        features = [next(p.feature for p in same if p.name == name) for name in names]
        assert len(set(features)) == len(features)
    assert ["x:low", "x:high"] not in table["predicates"].tolist()
    # As two features, the same pair is the best slice: the rule above is what kept it out.
    apart = [Predicate("x", "x:low", "x low", a), Predicate("y", "x:high", "x high", b), *predicates[2:]]
    assert search(apart, errors, loss, min_size=50).iloc[0]["predicates"] == ["x:low", "x:high"]


def test_min_size_is_respected():
    predicates, errors, loss = planted()
    rng = np.random.default_rng(0)
    tiny = np.zeros(len(errors), dtype=bool)
    tiny[rng.choice(len(errors), 30, replace=False)] = True
    errors = errors | tiny  # 30 rows, every one an error
    with_tiny = [Predicate("t", "tiny", "tiny", tiny), *predicates]
    table = search(with_tiny, errors, loss, min_size=40, top_k=50)
    assert (table["size"] >= 40).all() and len(table) > 0
    assert not any("tiny" in names for names in table["predicates"])
    assert ["tiny"] in search(with_tiny, errors, loss, min_size=30, top_k=50)["predicates"].tolist()


def test_only_positive_scores_are_returned():
    predicates, errors, loss = planted()
    table = search(predicates, errors, loss, min_size=5, top_k=10_000)
    assert len(table) > 10  # more than the planted slice: many with a small excess, none without
    assert (table["score"] > 0).all()
    assert (table["error_rate"] > errors.mean()).all()
    # Every conjunction with a score <= 0 is left out: the count matches an enumeration of those above 0.
    assert len(table) == len(brute_force(predicates, errors, 5, 3, 10_000))


def test_a_conjunction_with_the_rows_of_its_parent_is_dropped():
    predicates, errors, loss = planted()
    a = predicates[0].mask
    wider = a | predicates[2].mask  # holds wherever A holds: "A and wider" is A again
    with_wider = [*predicates, Predicate("w", "wider", "a or noise 0", wider)]
    table = search(with_wider, errors, loss, min_size=20, top_k=1_000)
    listed = table["predicates"].tolist()
    assert ["A"] in listed and ["A", "B"] in listed
    assert not any("A" in names and "wider" in names for names in listed)
    # One row fewer in "wider" and the conjunction is a different, sharper slice again.
    out = np.flatnonzero(a & ~errors)[0]
    narrower = wider.copy()
    narrower[out] = False
    with_narrower = [*predicates, Predicate("w", "wider", "a or noise 0", narrower)]
    assert ["A", "wider"] in search(with_narrower, errors, loss, min_size=20, top_k=1_000)["predicates"].tolist()


def test_ties_go_to_fewer_predicates_then_to_names():
    predicates, errors, loss = planted()
    a = predicates[0].mask
    # Two copies of A under other names and features: the same score, so they are ordered by name.
    copies = [Predicate("c2", "copy-b", "copy b", a.copy()), Predicate("c1", "copy-a", "copy a", a.copy())]
    table = search([*predicates, *copies], errors, loss, min_size=50, top_k=100)
    listed = table["predicates"].tolist()
    ones = [names[0] for names in listed if len(names) == 1 and names[0] in ("A", "copy-a", "copy-b")]
    assert ones == ["A", "copy-a", "copy-b"]
    assert all(len({"A", "copy-a", "copy-b"} & set(names)) <= 1 for names in listed)  # identical rows dropped
    assert table["size"][table["predicates"].apply(lambda names: names == ["copy-a"])].item() == a.sum()


def test_empty_results_keep_the_columns():
    predicates, errors, loss = planted()
    for table in (
        search(predicates, np.zeros_like(errors), loss, min_size=10),  # no errors: nothing above the base rate
        search(predicates, errors, loss, min_size=len(errors) + 1),
        search([], errors, loss, min_size=10),
        search(predicates, errors, loss, min_size=10, top_k=0),
    ):
        assert table.empty and list(table.columns) == COLUMNS


def test_bad_input_is_refused():
    predicates, errors, loss = planted()
    with pytest.raises(ValueError, match="unique"):
        search([*predicates, predicates[0]], errors, loss, min_size=10)
    with pytest.raises(ValueError, match="shape"):
        search([Predicate("a", "A", "a", np.ones(3, bool))], errors, loss, min_size=10)
    with pytest.raises(ValueError, match="0 or 1"):
        search(predicates, errors * 2.5, loss, min_size=10)


def test_wilson_known_values():
    low, high = wilson(10, 100)
    assert low == pytest.approx(0.0552, abs=1e-4) and high == pytest.approx(0.1744, abs=1e-4)
    assert wilson(0, 0) == (0.0, 1.0)
    lows, highs = wilson(np.array([0, 10, 20, 5]), np.array([20, 100, 20, 0]))
    np.testing.assert_allclose(lows, [0.0, 0.0552, 0.8389, 0.0], atol=1e-4)
    np.testing.assert_allclose(highs, [0.1611, 0.1744, 1.0, 1.0], atol=1e-4)
