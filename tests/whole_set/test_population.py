"""Latent vectors, t-SNE maps, clusters and similar texts, as the pipeline wrote them for the generated data."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.config import load_config
from pipeline.sampling import seeded_sample
from tests.conftest import PER_FOLDER, TINY_CONFIG
from viewer.database import query

REVIEWS = 4 * PER_FOLDER
NEURAL = ("dense", "cnn")


@pytest.mark.parametrize("model", NEURAL)
def test_every_text_has_one_point_and_latent_vector_per_model(db, model):
    count, distinct, finite = db.execute(
        "select count(*), count(distinct text_id), count(*) filter (where isfinite(x) and isfinite(y))"
        " from latent_space where model = $m",
        {"m": model},
    ).fetchone()
    assert count == distinct == finite == REVIEWS


def test_latent_vectors_have_each_models_size_zero_padded(db):
    settings = load_config(TINY_CONFIG)
    sizes = dict(db.execute("select model, latent_dim from models where kind <> 'baseline'").fetchall())
    assert sizes == {"dense": settings["dense"]["hidden_units"], "cnn": settings["cnn"]["filters"]}
    width = max(sizes.values())
    for model, size in sizes.items():
        vectors = np.array(
            db.execute("select latent from latent_space where model = $m", {"m": model}).fetchnumpy()["latent"].tolist()
        )
        assert vectors.shape == (REVIEWS, width)
        assert np.all(vectors[:, size:] == 0)
        assert np.any(vectors[:, :size] != 0)


def test_the_map_separates_the_labels(db):
    # The generated texts are easy: on the dense model's map, a text's nearest dots share its label.
    points = query(db, "population_map", model="dense", split=None, label=None, correct=None, clusters=None,
                   loss_min=0.0, loss_max=1e9)  # fmt: skip
    xy = points[["x", "y"]].to_numpy()
    distances = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    np.fill_diagonal(distances, np.inf)
    nearest = distances.argmin(axis=1)
    assert (points["label"].to_numpy()[nearest] == points["label"].to_numpy()).mean() > 0.9


@pytest.mark.parametrize("model", NEURAL)
def test_clusters_partition_the_texts_and_summaries_add_up(db, model):
    k = load_config(TINY_CONFIG)["clusters"]["k"]
    summary = query(db, "cluster_summary", model=model)
    assert sorted(summary["cluster"]) == list(range(k))
    assert summary["texts"].sum() == REVIEWS
    recomputed = db.execute(
        "select l.cluster, count(*), avg(p.loss), avg(p.correct::int), avg(r.n_oov) from latent_space l"
        " join predictions p using (text_id, model) join texts r using (text_id)"
        " where l.model = $m group by l.cluster order by l.cluster",
        {"m": model},
    ).fetchall()
    table = summary.sort_values("cluster")
    assert [row[1] for row in recomputed] == list(table["texts"])
    np.testing.assert_allclose([row[2] for row in recomputed], table["mean_loss"], rtol=1e-6)
    np.testing.assert_allclose([row[3] for row in recomputed], table["accuracy"], rtol=1e-6)
    np.testing.assert_allclose([row[4] for row in recomputed], table["mean_oov"], rtol=1e-6)


def test_cluster_words_come_from_the_cluster(db):
    words = query(db, "cluster_words", model="dense", cluster=0)
    assert list(words["rank"]) == list(range(1, len(words) + 1))
    assert (words["share_in_cluster"] > words["share_elsewhere"]).iloc[:3].all()
    word = words["word"].iloc[0]
    share = db.execute(
        "select avg((list_contains(string_split(regexp_replace(lower(text), '[^a-z0-9 ]', ' ', 'g'), ' '), $w))::int)"
        " from texts join latent_space using (text_id) where model = 'dense' and cluster = 0",
        {"w": word},
    ).fetchone()[0]
    assert share == pytest.approx(words["share_in_cluster"].iloc[0], abs=0.05)


@pytest.mark.parametrize("model", NEURAL)
def test_a_texts_nearest_neighbour_is_itself_then_by_distance(db, model):
    for text_id in (0, 123, REVIEWS - 1):
        similar = query(db, "similar_texts", model=model, text_id=text_id, k=6)
        assert similar["text_id"].iloc[0] == text_id
        assert similar["distance"].iloc[0] == 0
        assert list(similar["distance"]) == sorted(similar["distance"])
    # The distances are the Euclidean distances between the stored vectors.
    vectors = np.array(
        db.execute("select latent from latent_space where model = $m order by text_id", {"m": model})
        .fetchnumpy()["latent"]
        .tolist()
    )
    similar = query(db, "similar_texts", model=model, text_id=7, k=4)
    expected = np.linalg.norm(vectors[similar["text_id"]] - vectors[7], axis=1)
    np.testing.assert_allclose(similar["distance"], expected, rtol=1e-4, atol=1e-5)


def test_map_filters_and_selection(db):
    everything = query(db, "population_map", model="cnn", split="test", label=None, correct=None, clusters=[0, 1],
                       loss_min=0.0, loss_max=1e9)  # fmt: skip
    assert set(everything["split"]) == {"test"} and set(everything["cluster"]) <= {0, 1}
    inside = everything[everything["x"].between(*everything["x"].quantile([0.25, 0.75]))]
    picked = query(db, "map_selection", model="cnn", text_ids=inside["text_id"].tolist(), limit=1000)
    assert sorted(picked["text_id"]) == sorted(inside["text_id"])
    assert list(picked["loss"]) == sorted(picked["loss"], reverse=True)
    assert picked.set_index("text_id")["cluster"].to_dict() == inside.set_index("text_id")["cluster"].to_dict()
    assert len(query(db, "map_selection", model="cnn", text_ids=inside["text_id"].tolist(), limit=3)) == 3


def test_the_map_runs_every_iteration_whatever_the_progress_bar_does(monkeypatch):
    """openTSNE stops when a callback returns True, and tqdm returns True when it redraws: a map must not end
    earlier because the bar happened to redraw."""
    import tqdm

    from pipeline.whole_set import maps

    latent = np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32)
    settings = {"perplexity": 15, "early_exaggeration_iter": 50, "iterations": 50, "exaggeration": 1.0, "jobs": 1,
                "fit_sample": 0, "place_iterations": 10}  # fmt: skip
    quiet = maps.tsne_map(latent, settings, seed=1)
    monkeypatch.setattr(tqdm.tqdm, "update", lambda self, n=1: True)  # redraws every time
    np.testing.assert_array_equal(maps.tsne_map(latent, settings, seed=1), quiet)


def blobs(per_blob: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three well-separated Gaussian blobs in 8 dimensions, and each point's blob."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=10.0, size=(3, 8))
    blob = np.repeat(np.arange(3), per_blob)
    return (centres[blob] + rng.normal(size=(len(blob), 8))).astype(np.float32), blob


def test_past_the_fit_sample_the_other_texts_are_placed_beside_their_kind():
    """t-SNE is fitted on a sample; every other text is placed on that map, next to the fitted texts like it."""
    from sklearn.manifold import trustworthiness

    from pipeline.whole_set import maps

    latent, blob = blobs(200)
    settings = {"perplexity": 15, "early_exaggeration_iter": 50, "iterations": 100, "exaggeration": 1.0, "jobs": 1,
                "fit_sample": 150, "place_iterations": 50}  # fmt: skip
    points = maps.tsne_map(latent, settings, seed=3)
    fitted = seeded_sample(len(latent), 150, seed=3)
    placed = np.setdiff1d(np.arange(len(latent)), fitted)
    assert len(fitted) == 150 and len(placed) == 450 and np.isfinite(points).all()
    # Each placed text's nearest fitted text on the map is of its own blob.
    distances = np.linalg.norm(points[placed, None, :] - points[None, fitted, :], axis=2)
    assert (blob[fitted][distances.argmin(axis=1)] == blob[placed]).all()
    assert trustworthiness(latent[placed], points[placed], n_neighbors=10) > 0.9
    np.testing.assert_array_equal(maps.tsne_map(latent, settings, seed=3), points)  # the same map every time


def test_past_minibatch_above_k_means_goes_in_batches_and_finds_the_same_clusters():
    from sklearn.metrics import adjusted_rand_score

    from pipeline.whole_set.clusters import cluster_labels

    latent, blob = blobs(300)
    full = cluster_labels(latent, 3, seed=0, minibatch_above=10_000)
    batched = cluster_labels(latent, 3, seed=0, minibatch_above=100)
    assert adjusted_rand_score(blob, full) == adjusted_rand_score(blob, batched) == 1.0
    np.testing.assert_array_equal(cluster_labels(latent, 3, seed=0, minibatch_above=100), batched)


def test_map_snippets_of_every_text_or_of_the_sampled_ones(db):
    every = query(db, "map_snippets", text_ids=None)
    assert len(every) == REVIEWS and every["text_id"].is_monotonic_increasing
    some = sorted(every["text_id"].sample(5, random_state=0).tolist())
    picked = query(db, "map_snippets", text_ids=some)
    assert picked["text_id"].tolist() == some
    assert picked["snippet"].tolist() == every.set_index("text_id").loc[some, "snippet"].tolist()
    text = db.execute("select text from texts where text_id = ?", [some[0]]).fetchone()[0]
    assert picked["snippet"].iloc[0] == text.replace("<br />", " ")[:70]
