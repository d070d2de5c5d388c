"""make bench's figures for the ways in of models that can only be called (pipeline/per_text/occlusion.py,
pipeline/models/served.py, pipeline/models/llm.py), on the bench build's IMDB data.

occlusion_agreement: for the models trained here, the heat maps made by calling them (occlusion, partition SHAP, at
most 64 calls a text) against their stored integrated gradients, on a seeded sample of test texts: seconds and model
calls per text, each text's Spearman rank correlation between two methods' word scores (on the words the model read),
and a deletion test (the 5 words scoring most toward the predicted class left out of the pipeline's cleaned words,
the mean drop in that class's probability; 5 random words for reference) per method, also as a ratio of IG's.

request_rates: the build's TF-IDF baseline behind the test servers of tests/serving.py (MLflow's scoring protocol
and an OpenAI-compatible chat endpoint), asked by ServedClassifier and LLMClassifier as a build would (answers kept
in memory only): texts and requests per second, beside the baseline called directly; the same with the servers
answering from a table of the baseline's answers worked out before (what the client and HTTP cost, the model aside);
and the served model's occlusion heat maps, HTTP round trips included.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from pipeline import artifacts, registry
from pipeline.config import ROOT, load_config
from pipeline.models import classifier
from pipeline.models.classifier import Corpus
from pipeline.per_text import occlusion

REMOVED = 5
MAX_CALLS = 64
METHODS = ("occlusion", "partition")


def sample_rows(corpus: Corpus, texts: int, seed: int) -> np.ndarray:
    """A seeded sample of test texts with at least 4 x REMOVED tokens (as bench/faithfulness.py picks), sorted."""
    tokens = corpus.tokens
    candidates = np.flatnonzero((tokens.subset == "test") & (tokens.n_tokens >= 4 * REMOVED))
    picked = np.random.default_rng(seed).choice(candidates, size=min(texts, len(candidates)), replace=False)
    return np.sort(picked)


def every_class(stored: np.ndarray) -> np.ndarray:
    """Scores toward classes 1..n-1 (tokens x n-1) as scores toward every class (class 0's: minus the others')."""
    return np.concatenate([-stored.sum(axis=1, keepdims=True), stored], axis=1)


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho of two score vectors; nan where either is constant."""
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def summary(values: list[float]) -> dict:
    found = np.array(values, dtype=np.float64)
    kept = found[np.isfinite(found)]
    return {
        "median": round(float(np.median(kept)), 4) if len(kept) else None,
        "mean": round(float(kept.mean()), 4) if len(kept) else None,
        "undefined": int(len(found) - len(kept)),  # a constant heat map has no ranks
    }


def deletion(model, corpus: Corpus, part: Corpus, heat: dict[str, list[np.ndarray]], seed: int) -> dict:
    """The mean drop in the predicted class's probability when each method's top 5 words toward it (or 5 random
    words) are left out of the pipeline's cleaned words, within the words the model read (`heat` is cut to them)."""
    words = part.words
    whole = [" ".join(w) for w in words]
    before = model.predict(corpus.of_texts(whole))[0]
    predicted = before.argmax(axis=1)
    picked = np.arange(len(whole)), predicted
    rng = np.random.default_rng(seed)
    chosen = {name: [] for name in [*heat, "random"]}
    for i, target in enumerate(predicted):
        for name, scores in heat.items():
            chosen[name].append(np.argsort(-every_class(scores[i])[:, target], kind="stable")[:REMOVED])
        chosen["random"].append(rng.choice(len(heat["integrated_gradients"][i]), REMOVED, replace=False))
    drops = {}
    for name, positions in chosen.items():
        texts = [
            " ".join(np.delete(np.array(w, dtype=object), p).tolist()) for w, p in zip(words, positions, strict=True)
        ]
        drops[name] = before[picked] - model.predict(corpus.of_texts(texts))[0][picked]
    result = {
        f"{name}_mean_drop_top5": round(float(drop.mean()), 4) for name, drop in drops.items() if name != "random"
    }
    result["random_mean_drop_5"] = round(float(drops["random"].mean()), 4)
    ig = float(drops["integrated_gradients"].mean())
    for name in heat:
        if name != "integrated_gradients":
            result[f"{name}_over_ig"] = round(float(drops[name].mean()) / ig, 3) if ig else None
            result[f"{name}_share_drops_more_than_random"] = round(float((drops[name] > drops["random"]).mean()), 4)
    result["ig_share_drops_more_than_random"] = round(
        float((drops["integrated_gradients"] > drops["random"]).mean()), 4
    )
    # The cleaned words joined again should read as the text did: how far the model's answer moved.
    original = model.predict(part)[0]
    result["rebuilt_text_max_probability_change"] = round(float(np.abs(original - before).max()), 5)
    return result


def one_model(build: Path, config: dict, corpus: Corpus, rows: np.ndarray, name: str, seed: int) -> dict:
    spec = registry.spec(config, name)
    model = classifier.load(spec, build / "models" / f"{name}.keras", corpus)
    part = corpus.part(rows)
    stored = artifacts.read_attributions(build / "attributions" / f"{name}.parquet")
    k = stored.at_text.shape[1]
    ig = []
    for row in rows:
        start, end = stored.offsets[row], stored.offsets[row + 1]
        ig.append((stored.values[start * k : end * k].reshape(-1, k) * stored.scale[row]).astype(np.float32))
    model.predict(part.part(slice(0, 8)))  # built and warmed before the clock runs
    found, report = {}, {"texts": len(rows)}
    for method in METHODS:
        start = time.perf_counter()
        scores, calls = occlusion.attribute(model, part, method, MAX_CALLS)
        seconds = time.perf_counter() - start
        found[method] = scores
        change = scores.at_text - scores.at_baseline
        sums = np.array([s.sum(axis=0) for s in scores.scores]).reshape(len(rows), k)
        report[method] = {
            "seconds_per_text": round(seconds / len(rows), 4),
            "mean_calls_per_text": round(float(calls.mean()), 2),
            "completeness_error_median": round(
                float(np.median(np.abs(sums - change) / np.maximum(np.abs(change), 1e-6))), 5
            ),
            # The same target as integrated gradients' (centred log-probability = centred logit): at the text, equal.
            "target_at_text_max_abs_diff_from_ig": round(float(np.abs(scores.at_text - stored.at_text[rows]).max()), 5),
        }
    # Lengths: IG covers the tokens the model read (up to the sequence length); the others, every pipeline word.
    words = part.words
    read = [len(s) for s in ig]
    report["lengths"] = {
        "ig_equals_words_or_sequence_length": int(
            sum(n == min(len(w), corpus.tokens.sequence_length) for n, w in zip(read, words, strict=True))
        ),
        **{
            f"{method}_equals_words": int(
                sum(len(s) == len(w) for s, w in zip(found[method].scores, words, strict=True))
            )
            for method in METHODS
        },
        "texts_cut_at_sequence_length": int(sum(len(w) > corpus.tokens.sequence_length for w in words)),
    }
    common = [min(len(ig[i]), *(len(found[m].scores[i]) for m in METHODS)) for i in range(len(rows))]
    heat = {"integrated_gradients": [s[:n] for s, n in zip(ig, common, strict=True)]}
    heat |= {m: [s[:n] for s, n in zip(found[m].scores, common, strict=True)] for m in METHODS}
    pairs = {
        "occlusion_vs_ig": ("occlusion", "integrated_gradients"),
        "partition_vs_ig": ("partition", "integrated_gradients"),
        "occlusion_vs_partition": ("occlusion", "partition"),
    }
    report["spearman"] = {
        pair: summary([rank_correlation(x[:, 0], y[:, 0]) for x, y in zip(heat[a], heat[b], strict=True)])
        for pair, (a, b) in pairs.items()
    }
    report["deletion"] = deletion(model, corpus, part, heat, seed)
    return report


def occlusion_agreement(
    build: Path, texts: int = 200, seed: int = 0, models: tuple[str, ...] = ("cnn", "dense")
) -> dict:
    """Occlusion and partition SHAP heat maps of the build's trained models against their integrated gradients."""
    config = load_config(build / "settings" / "config.json")
    corpus = Corpus.read(build / "texts.parquet", build / "tokens.npz")
    rows = sample_rows(corpus, texts, seed)
    report = {"max_calls": MAX_CALLS, "removed": REMOVED, "seed": seed}
    for name in models:
        start = time.perf_counter()
        report[name] = one_model(build, config, corpus, rows, name, seed)
        report[name]["seconds"] = round(time.perf_counter() - start, 1)
    return report


def request_rates(build: Path, texts: int = 2000, llm_texts: int = 300, occluded: int = 20, seed: int = 0) -> dict:
    """Texts and requests per second through ServedClassifier and LLMClassifier, the build's baseline behind the
    test servers; the served model's occlusion seconds per text."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from pipeline.models.llm import LLMClassifier
    from pipeline.models.served import ServedClassifier
    from tests.serving import mlflow_server, openai_server

    config = load_config(build / "settings" / "config.json")
    defaults = load_config()  # the build's resolved settings were written before [served] and [chat] existed
    corpus = Corpus.read(build / "texts.parquet", build / "tokens.npz")
    baseline = classifier.load(registry.spec(config, "baseline"), build / "models" / "baseline.pkl", corpus)
    lock = threading.Lock()  # the baseline keeps the last texts' features on itself: one request at a time

    known: dict[str, np.ndarray] = {}  # answers worked out before: what the client costs, the model's cost aside

    def predict_proba(batch: list[str]) -> np.ndarray:
        if known and all(text in known for text in batch):
            return np.array([known[text] for text in batch])
        with lock:
            return baseline.predict(corpus.of_texts(batch))[0]

    rows = sample_rows(corpus, texts, seed)
    part = corpus.part(rows)
    part.texts  # noqa: B018 - read before the clock runs
    start = time.perf_counter()
    direct = baseline.predict(corpus.of_texts([str(t) for t in part.texts]))[0]
    report = {"texts": len(rows), "direct_texts_per_second": round(len(rows) / (time.perf_counter() - start), 1)}
    # Corpus.of_texts has a fixed cost per call (its tokenizer's DuckDB connection): what one request costs the model.
    start = time.perf_counter()
    for text in part.texts[:20]:
        predict_proba([str(text)])
    report["direct_seconds_per_one_text_call"] = round((time.perf_counter() - start) / 20, 4)
    answers = dict(zip((str(t) for t in part.texts), direct, strict=True))

    def rates(n: int, seconds: float, requests: int) -> dict:
        return {
            "texts": n,
            "seconds": round(seconds, 2),
            "texts_per_second": round(n / seconds, 1),
            "requests": requests,
            "requests_per_second": round(requests / seconds, 1),
        }

    with mlflow_server(predict_proba) as server:
        settings = {**defaults["served"], "url": server.url, "file": server.url, "sha256": "bench"}
        spec = registry.ModelSpec("served_bench", "served", settings)
        model = ServedClassifier(spec, None, corpus)
        start = time.perf_counter()
        found = model.predict(part)[0]
        report["served"] = rates(len(rows), time.perf_counter() - start, server.requests)
        report["served"]["max_abs_diff_from_direct"] = round(float(np.abs(found - direct).max()), 8)
        report["served"]["settings"] = {key: settings[key] for key in ("batch_size", "concurrency", "timeout")}
        known.update(answers)
        model = ServedClassifier(spec, None, corpus)
        sent, start = server.requests, time.perf_counter()
        model.predict(part)
        report["served_answers_known"] = rates(len(rows), time.perf_counter() - start, server.requests - sent)
        known.clear()

        few = corpus.part(rows[:occluded])
        model = ServedClassifier(spec, None, corpus)  # nothing kept from before
        sent = server.requests
        start = time.perf_counter()
        _, calls = occlusion.attribute(model, few, "occlusion", settings["max_calls"])
        seconds = time.perf_counter() - start
        report["served_occlusion"] = {
            "texts": len(few),
            "max_calls": settings["max_calls"],
            "seconds_per_text": round(seconds / len(few), 3),
            "mean_calls_per_text": round(float(calls.mean()), 2),
            "requests": server.requests - sent,
        }

    with openai_server(predict_proba, corpus.labels) as server:
        settings = {
            **defaults["chat"],
            "url": server.url,
            "model": "tiny-classifier",
            "file": server.url,
            "sha256": "bench",
        }
        model = LLMClassifier(registry.ModelSpec("llm_bench", "chat", settings), None, corpus)
        few = corpus.part(rows[:llm_texts])
        start = time.perf_counter()
        found = model.predict(few)[0]
        report["llm"] = rates(len(few), time.perf_counter() - start, server.requests)
        report["llm"]["max_abs_diff_from_direct"] = round(float(np.abs(found - direct[: len(few)]).max()), 4)
        report["llm"]["same_class_as_direct"] = round(
            float((found.argmax(axis=1) == direct[: len(few)].argmax(axis=1)).mean()), 4
        )
        report["llm"]["settings"] = {key: settings[key] for key in ("concurrency", "top_logprobs", "max_tokens")}
        report["llm"]["settings"]["texts_per_request"] = 1
        known.update(answers)
        model = LLMClassifier(registry.ModelSpec("llm_bench", "chat", settings), None, corpus)
        sent, start = server.requests, time.perf_counter()
        model.predict(few)
        report["llm_answers_known"] = rates(len(few), time.perf_counter() - start, server.requests - sent)
        known.clear()
    return report
