"""How well the label errors of the training texts are found: a seeded share of the training labels is flipped to
another class, the data set is built again, and each way of ranking the training texts is scored against the flipped
ones: average precision of its ranking (low score first) and precision and recall of the texts it flags.

    python -m bench label_noise --texts build/bench/texts.parquet --out build/bench-noisy

The ways: label_quality (the file's column), each signal alone (the baseline's and naive Bayes's out-of-sample
probabilities, the models' early learning, and each model's confidence, area under the margin and correctness over
the epochs), today's in-sample method (the final
models' averaged probabilities, as the finding on the test split still uses them), and the anchor: confident learning
as cleanlab does it (Northcutt et al., 2021), on the out-of-sample probabilities of a TF-IDF and logistic regression
cross-validated here, independently of the pipeline.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from pipeline import artifacts
from pipeline.whole_set.label_quality import confident_learning

SHARE = 0.1
FOLDS = 5


def noisy_copy(texts: Path, out: Path, share: float = SHARE, seed: int = 0) -> pd.DataFrame:
    """The data set of a build's texts with a seeded `share` of its training labels flipped to another class, each
    other class as likely, written to `out` (Parquet: id, text, label, split and the data's other columns). Returns
    the ids flipped, with their true and given labels."""
    frame = artifacts.read_texts(texts)
    rng = np.random.default_rng(seed)
    labels = np.array(sorted(frame["label"].astype(str).unique()))
    train = np.flatnonzero(frame["split"].to_numpy() == "train")
    flipped = np.sort(rng.choice(train, size=round(share * len(train)), replace=False))
    true = frame["label"].astype(str).to_numpy()[flipped]
    given = np.array([rng.choice(labels[labels != label]) for label in true])
    noisy = frame.drop(columns=["text_id", "source_id", "subset"]).assign(id=frame["text_id"].astype(str))
    noisy["label"] = noisy["label"].astype(str)
    noisy.loc[flipped, "label"] = given
    out.parent.mkdir(parents=True, exist_ok=True)
    first = ["id", "text", "label", "split"]
    noisy[first + [column for column in noisy if column not in first]].to_parquet(out, index=False)
    return pd.DataFrame({"id": frame["text_id"].to_numpy()[flipped].astype(str), "true": true, "given": given})


def anchor(texts: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """cleanlab's label quality and label issues from 5-fold out-of-sample probabilities of TF-IDF (words and
    bigrams) and logistic regression on the training texts."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    labels = sorted(texts["label"].unique())
    given = texts["label"].map({label: i for i, label in enumerate(labels)}).to_numpy()
    features = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=50000, sublinear_tf=True)
    x = features.fit_transform(texts["text"])
    model = LogisticRegression(C=4.0, max_iter=1000)
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    probabilities = cross_val_predict(model, x, given, cv=folds, method="predict_proba")
    return pd.DataFrame(
        {
            "id": texts["id"].to_numpy(),
            "score": get_label_quality_scores(given, probabilities),
            "flagged": find_label_issues(given, probabilities),
        }
    )


def scores(ranked: pd.DataFrame, flipped: set[str]) -> dict:
    """Average precision of a ranking (low score: likely wrong) for the flipped texts, and the precision and recall
    of the texts it flags (where it flags)."""
    truth = ranked["id"].isin(flipped).to_numpy()
    figures = {"average_precision": round(float(average_precision_score(truth, -ranked["score"].to_numpy())), 4)}
    if "flagged" in ranked and ranked["flagged"].notna().all():
        flagged = ranked["flagged"].to_numpy(dtype=bool)
        figures["flagged"] = int(flagged.sum())
        figures["precision"] = round(float(truth[flagged].mean()), 4) if flagged.any() else 0.0
        figures["recall"] = round(float(flagged[truth].mean()), 4)
    return figures


# Each signal, as the file holds it: a score where low means likely wrong. Correctness and confidence by model.
SIGNALS = {
    "label_quality": "select t.source_id as id, q.label_quality as score, q.flagged from label_quality q "
    "join texts t using (text_id) where t.split = 'train'",
    **{
        signal: f"select t.source_id as id, q.{signal} as score from label_quality q join texts t using (text_id) "
        f"where t.split = 'train' and q.{signal} is not null"
        for signal in ("out_of_sample", "naive_bayes", "early_learning")
    },
}
PER_MODEL = ("confidence", "aum", "correctness")


def measure(database: Path, flipped: pd.DataFrame) -> dict:
    """Every way's figures, on the training texts of the noisy build."""
    wrong = set(flipped["id"])
    figures = {"flipped": len(wrong)}
    with duckdb.connect(str(database), read_only=True) as con:
        for name, sql in SIGNALS.items():
            figures[name] = scores(con.execute(sql).df(), wrong)
        for model in con.execute("select distinct model from data_maps order by model").df()["model"]:
            for signal in PER_MODEL:
                ranked = con.execute(
                    f"select t.source_id as id, m.{signal} as score from data_maps m join texts t using (text_id) "
                    "where t.split = 'train' and m.model = ?",
                    [model],
                ).df()
                figures[f"{model} {signal}"] = scores(ranked, wrong)
        # Today's in-sample method: the final neural models' averaged probabilities, and confident learning on them,
        # as the mislabelled finding ran it on every split before (and still does on the test split).
        final = con.execute(
            "select t.source_id as id, l.label_index as given, p.probabilities from predictions p "
            "join texts t using (text_id) join labels l on l.label = t.label join models m using (model) "
            "where t.split = 'train' and m.latent_dim is not null and p.probabilities is not null order by t.text_id"
        ).df()
        averaged = final.groupby("id", sort=False).agg(
            given=("given", "first"), probabilities=("probabilities", lambda p: np.mean(np.stack(p), axis=0))
        )
        probabilities, given = np.stack(averaged["probabilities"]), averaged["given"].to_numpy()
        in_sample = pd.DataFrame(
            {
                "id": averaged.index,
                "score": probabilities[np.arange(len(given)), given],
                "flagged": confident_learning(probabilities, given),
            }
        )
        figures["in_sample"] = scores(in_sample, wrong)
        texts = con.execute("select source_id as id, text, label from texts where split = 'train'").df()
    figures["anchor_cleanlab"] = scores(anchor(texts), wrong)
    return figures
