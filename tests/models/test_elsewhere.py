"""Models the user brings beyond Keras, through make all as a user runs it: fine-tuned transformer checkpoints
(MODEL=a folder) and predictions made elsewhere (PREDICTIONS=a file), with probabilities and embeddings or with
the predicted class alone; every page on them, and every bad predictions file."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipeline.config import load_config
from pipeline.per_text.attributions import chosen_rows
from tests.conftest import ROOT, last_error_line, make, run_page, tiny_settings_with
from tests.own_data import TICKETS
from viewer.database import open_database
from viewer.pages import PAGES

CHECKPOINTS = ROOT / "tests" / "checkpoints"
LABELS = list(TICKETS)
SETTINGS = """
models = ["dense"]

[data]
text_column = "body"
label_column = "category"
id_column = "ticket_no"

"""
# Only with MODEL=.../roberta: a model's table is a setting of a model the run has.
ROBERTA = """
[roberta]
label_map = [["LABEL_0", "billing"], ["LABEL_1", "delivery"], ["LABEL_2", "login"]]
attribute_errors = 5
attribute_sample = 7
"""
DIMENSIONS = 6
EPOCHS = 4  # of the brought training dynamics


def ticket_ids(tickets_csv) -> pd.Series:
    return pd.read_csv(tickets_csv)["ticket_no"]


def probabilities_file(path, ids: pd.Series, seed: int = 0, embedding: bool = True):
    """Random probabilities of the three classes for every ticket, and random embeddings."""
    rng = np.random.default_rng(seed)
    probabilities = rng.dirichlet(np.ones(len(LABELS)), size=len(ids))
    frame = pd.DataFrame({"id": ids, **{f"prob_{label}": probabilities[:, i] for i, label in enumerate(LABELS)}})
    if embedding:
        frame["embedding"] = list(rng.normal(size=(len(ids), DIMENSIONS)).astype(np.float32))
    frame.to_parquet(path, index=False)
    return path


def dynamics_file(path, ids: pd.Series, epochs: int = EPOCHS, seed: int = 2):
    """Random probabilities of the three classes for every ticket after each epoch, as a user would bring them."""
    rng = np.random.default_rng(seed)
    frames = []
    for epoch in range(1, epochs + 1):
        probabilities = rng.dirichlet(np.ones(len(LABELS)), size=len(ids))
        columns = {f"prob_{label}": probabilities[:, i] for i, label in enumerate(LABELS)}
        frames.append(pd.DataFrame({"id": ids, "epoch": epoch, **columns}))
    pd.concat(frames).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def brought(tmp_path_factory, tickets_csv):
    """The tickets with a model trained here, two transformer checkpoints, probabilities with embeddings from a
    Parquet file, and an LLM's predicted classes alone from a CSV file."""
    folder = tmp_path_factory.mktemp("elsewhere")
    ids = ticket_ids(tickets_csv)
    rng = np.random.default_rng(1)
    truth = pd.read_csv(tickets_csv)["category"]
    guessed = truth.where(rng.random(len(truth)) > 0.2, rng.choice(LABELS, len(truth)))
    pd.DataFrame({"id": ids, "predicted_label": guessed, "model": "an LLM, zero-shot"}).to_csv(
        folder / "llm.csv", index=False
    )
    files = [probabilities_file(folder / "scores.parquet", ids), folder / "llm.csv"]
    dynamics = f'[scores]\ndynamics = "{dynamics_file(folder / "dynamics.csv", ids)}"\n'
    config = tiny_settings_with(folder / "settings.toml", SETTINGS + ROBERTA + dynamics)
    models = [CHECKPOINTS / "bert", CHECKPOINTS / "roberta"]
    result = make(folder / "build", "all", data=tickets_csv, config=config, models=models,
                  predictions=files)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return folder, config, files, guessed


@pytest.fixture()
def con(brought):
    connection = open_database(brought[0] / "build" / "reviewlens.duckdb")
    yield connection
    connection.close()


def rows(con, sql: str, **params) -> list[tuple]:
    return con.execute(sql, params).fetchall()


def test_the_models_table_says_what_each_model_is_and_lacks(con):
    sql = ("select model, kind, architecture, no_attributions, no_behaviour, no_probabilities, latent_dim, "
           "temperature is not null from models order by rank")  # fmt: skip
    models = {row[0]: row[1:] for row in rows(con, sql)}
    assert list(models) == ["dense", "bert", "roberta", "scores", "llm", "baseline"]
    assert models["bert"][:2] == ("transformer", None) and models["bert"][2:5] == (None, None, None)
    assert models["scores"][:2] == ("predictions", None) and models["scores"][5:] == (DIMENSIONS, True)
    assert models["scores"][2] and models["scores"][3] and models["scores"][4] is None
    assert models["llm"][2] and models["llm"][3] and models["llm"][4] and models["llm"][5:] == (None, False)


def test_a_transformers_attributions_cover_its_errors_and_a_sample(brought, con):
    folder = brought[0]
    subset = np.array([row[0] for row in rows(con, "select subset from texts order by text_id")])
    settings = load_config(folder / "build" / "settings" / "config.json")
    expected = chosen_rows(folder / "build" / "predictions" / "roberta.parquet", subset, settings["roberta"], 1337)
    found = [row[0] for row in rows(con, "select text_id from attributions where model = 'roberta' order by 1")]
    assert found == expected.tolist() and len(found) <= 5 + 7
    wrong = rows(con, "select count(*) from text_list where model = 'roberta' and not correct and subset = 'test'")
    assert len(found) == min(5, wrong[0][0]) + 7
    assert rows(con, "select attributed_texts from models where model = 'roberta'") == [(len(found),)]
    # Their scores sum to the change in the target, as the CNN's do.
    error = rows(con, "select median(abs(s - t) / greatest(abs(t), 1e-6)) from (select unnest(score_sum) as s, "
                      "unnest(list_transform(list_zip(target_text, target_baseline), lambda x: x[1] - x[2])) as t "
                      "from attributions where model = 'bert')")[0][0]  # fmt: skip
    assert error < 0.05


def test_behaviour_runs_the_checkpoints_but_not_predictions_made_elsewhere(con):
    tested = {row[0] for row in rows(con, "select distinct model from behaviour_results")}
    assert {"dense", "bert", "roberta", "baseline"} == tested


def test_predicted_classes_alone_give_errors_but_no_loss(con, brought):
    guessed = brought[3]
    found = rows(con, "select predicted_label, probabilities, loss, confidence, calibrated from predictions "
                      "where model = 'llm' order by text_id")  # fmt: skip
    assert [row[0] for row in found] == guessed.tolist()
    assert all(value is None for row in found for value in row[1:])
    accuracy = rows(con, "select accuracy, loss from model_metrics where model = 'llm' and subset = 'test'")[0]
    expected = rows(con, "select avg((p.predicted_label = r.label)::int) from predictions p join texts r "
                         "using (text_id) where model = 'llm' and subset = 'test'")[0][0]  # fmt: skip
    assert accuracy == (pytest.approx(expected), None)
    assert rows(con, "select count(*) from calibration where model = 'llm'") == [(0,)]
    assert rows(con, "select count(*) from slices where model = 'llm'")[0][0] > 0  # errors are enough for slices
    # Compared with the other models: flips and accuracy, but no loss or ECE where either side lacks probabilities.
    metrics = {row[0] for row in rows(con, "select distinct metric from comparison_metrics where model = 'llm' "
                                           "or base_model = 'llm'")}  # fmt: skip
    assert metrics == {"accuracy", "macro_f1", "f1"}
    pairs = rows(con, "select count(*) from comparison_pairs where 'llm' in (model, base_model)")[0][0]
    assert pairs == len(rows(con, "select model from models where compared")) - 1


def test_embeddings_give_a_map_and_clusters(con, brought):
    folder = brought[0]
    file = pd.read_parquet(brought[2][0])
    ids = [row[0] for row in rows(con, "select source_id from texts order by text_id")]
    latent = np.array([row[0] for row in rows(con, "select latent from latent_space where model = 'scores' "
                                                     "order by text_id")])  # fmt: skip
    np.testing.assert_allclose(latent[:, :DIMENSIONS], np.stack(file.set_index("id").loc[ids, "embedding"]))
    assert rows(con, "select count(*) from latent_space where model = 'llm'") == [(0,)]
    assert (folder / "build" / "maps" / "scores.npy").exists()


def test_the_same_probabilities_brought_back_give_the_same_figures(brought, tickets_csv):
    """The baseline's own probabilities, brought in as predictions made elsewhere: the same accuracy, loss and
    calibration."""
    folder, _, files, _ = brought
    config = tiny_settings_with(folder / "again.toml", SETTINGS)
    with duckdb.connect(str(folder / "build" / "reviewlens.duckdb"), read_only=True) as con:
        frame = con.execute("select source_id as id, probabilities from predictions join texts using (text_id) "
                            "where model = 'baseline' order by text_id").df()  # fmt: skip
    probabilities = np.stack(frame["probabilities"])
    pd.DataFrame(
        {"id": frame["id"], **{f"prob_{label}": probabilities[:, i] for i, label in enumerate(LABELS)}}
    ).to_parquet(folder / "again.parquet", index=False)
    build = folder / "again-build"
    result = make(build, "all", data=tickets_csv, config=config, predictions=[folder / "again.parquet"])
    assert result.returncode == 0, result.stderr[-2000:]
    with duckdb.connect(str(build / "reviewlens.duckdb"), read_only=True) as con:
        metrics = con.execute("select model, subset, accuracy, loss, macro_f1 from model_metrics "
                              "where model in ('again', 'baseline') order by subset, model").fetchall()  # fmt: skip
        ece = con.execute("select model, subset, scaled, ece, brier from calibration where class is null "
                          "and model in ('again', 'baseline') order by subset, scaled, model").fetchall()  # fmt: skip
    assert len(metrics) == 2 * 3 and len(ece) == 2 * 4 * 2  # each subset; before and after scaling
    for again, baseline in zip(metrics[::2], metrics[1::2], strict=True):
        assert again[1] == baseline[1] and again[2:] == pytest.approx(baseline[2:], rel=1e-5)
    for again, baseline in zip(ece[::2], ece[1::2], strict=True):
        assert again[1:3] == baseline[1:3] and again[3:] == pytest.approx(baseline[3:], rel=1e-4)


def test_brought_training_dynamics_give_a_data_map(con, brought, monkeypatch):
    folder = brought[0]
    file = pd.read_csv(folder / "dynamics.csv").set_index(["id", "epoch"])
    training = rows(con, "select text_id, source_id, l.label_index from texts join labels l using (label) "
                         "where split <> 'test' order by text_id")  # fmt: skip
    found = rows(con, "select text_id, epoch, probability from training_dynamics where model = 'scores' "
                      "order by text_id, epoch")  # fmt: skip
    assert len(found) == EPOCHS * len(training)
    label_of = {text_id: (source_id, index) for text_id, source_id, index in training}
    for text_id, epoch, probability in found[:: len(found) // 20]:
        source_id, index = label_of[text_id]
        assert probability == pytest.approx(file.loc[(source_id, epoch), f"prob_{LABELS[index]}"], abs=1e-6)
    mapped = dict(rows(con, "select model, count(*) from data_maps group by model"))
    assert mapped == {"dense": len(training), "scores": len(training)}
    at = run_page(monkeypatch, folder / "build" / "reviewlens.duckdb", "data_maps")
    captions = " ".join(caption.value for caption in at.caption)
    for model in ("bert", "roberta", "llm"):
        assert f"**{model}** has no training dynamics: trained elsewhere" in captions
    assert at.selectbox(key="model").options == ["dense", "scores"]


@pytest.mark.parametrize("page", [page.name for page in PAGES])
def test_every_page_runs_on_brought_models(page, brought, monkeypatch):
    run_page(monkeypatch, brought[0] / "build" / "reviewlens.duckdb", page)


def test_the_pages_say_what_a_model_lacks(brought, con, monkeypatch):
    not_attributed = rows(con, "select min(text_id) from texts where text_id not in "
                               "(select text_id from attributions where model = 'roberta')")[0][0]  # fmt: skip
    at = run_page(monkeypatch, brought[0] / "build" / "reviewlens.duckdb", "samples", id=str(not_attributed))
    infos = " ".join(info.value for info in at.info)
    count = rows(con, "select count(*) from attributions where model = 'roberta'")[0][0]
    assert f"roberta has no heat maps: its attributions are computed for {count} texts (its misclassified" in infos
    assert "llm has no heat maps: its predictions were made elsewhere" in infos
    at.switch_page("views/overview.py").run()
    captions = " ".join(caption.value for caption in at.caption)
    assert (
        "**llm** has no probabilities (the file gives the predicted class alone): no loss and no calibration"
        in captions
    )
    assert "**scores** has no behavioural tests" in captions
    at.switch_page("views/behaviour.py").run()
    assert "Not available for **llm**" in " ".join(caption.value for caption in at.caption)


@pytest.fixture(scope="module")
def bare(tmp_path_factory, tickets_csv):
    """Settings that train nothing, for the bad files: each stops at its own step."""
    folder = tmp_path_factory.mktemp("bad-predictions")
    settings = SETTINGS.replace('models = ["dense"]', "models = []")
    return folder, tiny_settings_with(folder / "settings.toml", settings)


def spoiled(frame: pd.DataFrame, case: str) -> pd.DataFrame:
    frame = frame.copy()
    if case == "unknown ids":
        frame.loc[[3, 4], "id"] = ["T-99998", "T-99999"]
    elif case == "missing texts":
        frame = frame.drop(index=[0, 5, 6])
    elif case == "missing class":
        frame = frame.drop(columns=["prob_login"])
    elif case == "negative":
        frame.loc[10, ["prob_billing", "prob_delivery"]] = [-0.2, 1.2 - frame.loc[10, "prob_login"]]
    elif case == "not one":
        frame.loc[12, "prob_billing"] += 0.5
    elif case == "uneven":
        frame.at[20, "embedding"] = frame.at[20, "embedding"][:4]
    elif case == "no ids":
        frame = frame.drop(columns=["id"])
    return frame


BAD = {
    "unknown ids": "2 ids are not in the data (T-99998, T-99999) and 2 texts of the data have no prediction",
    "missing texts": "3 texts of the data have no prediction (T-00000, T-00005, T-00006); give one row per text",
    "missing class": "no probability column for class 'login' (expected prob_login",
    "negative": "row 11: the probability of 'billing' is -0.2, below 0; give probabilities from 0 to 1",
    "not one": "row 13: the probabilities sum to 1.5, not 1 (1 rows like it)",
    "uneven": "embeddings of uneven lengths (row 21 has 4 values, most have 6)",
    "no ids": "no column 'id' (found: prob_billing, prob_delivery, prob_login, ...); name the column",
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_predictions_file_stops_in_one_line(case, bare, tickets_csv):
    folder, config = bare
    path = folder / f"{case.replace(' ', '_')}.parquet"
    spoiled(pd.read_parquet(probabilities_file(path, ticket_ids(tickets_csv))), case).to_parquet(path, index=False)
    build = folder / "build"
    result = make(build, str(build / "models" / f"{path.stem}.json"), data=tickets_csv, config=config,
                  predictions=[path])  # fmt: skip
    assert result.returncode != 0
    line = last_error_line(result)
    assert line.startswith(f"error: {path}: ") and BAD[case] in line, line
    assert not (build / "predictions" / f"{path.stem}.parquet").exists()


def spoiled_dynamics(frame: pd.DataFrame, case: str) -> pd.DataFrame:
    frame = frame.copy()
    if case == "no epoch":
        frame = frame.drop(columns=["epoch"])
    elif case == "unknown ids":
        frame.loc[frame.index[:2], "id"] = ["T-99998", "T-99999"]
    elif case == "uneven epochs":
        frame = frame.drop(index=frame.index[frame["epoch"] == 2][:3])
    elif case == "not one":
        frame.loc[frame.index[7], "prob_billing"] += 0.5
    return frame


BAD_DYNAMICS = {
    "missing": "no dynamics file",
    "no epoch": "no column 'epoch'; give the data's id and the epoch on every row",
    "unknown ids": "2 ids are not in the data (T-99998, T-99999); give the data's ids",
    "uneven epochs": "the epochs hold different texts; give every epoch a row for the same texts",
    "not one": "row 8: the probabilities sum to",
}


@pytest.mark.parametrize("case", list(BAD_DYNAMICS))
def test_a_bad_dynamics_file_stops_in_one_line(case, bare, tickets_csv):
    folder, _ = bare
    ids = ticket_ids(tickets_csv)
    scores = probabilities_file(folder / "scores.parquet", ids)
    path = folder / f"dynamics_{case.replace(' ', '_')}.csv"
    if case != "missing":
        spoiled_dynamics(pd.read_csv(dynamics_file(path, ids)), case).to_csv(path, index=False)
    settings = SETTINGS.replace('models = ["dense"]', "models = []") + f'[scores]\ndynamics = "{path}"\n'
    config = tiny_settings_with(folder / f"{path.stem}.toml", settings)
    build = folder / "build-dynamics"  # one for every case: each reruns only what the file feeds
    result = make(build, str(build / "label_quality.parquet"), data=tickets_csv, config=config, predictions=[scores])
    assert result.returncode != 0
    line = last_error_line(result)
    assert line.startswith("error: ") and BAD_DYNAMICS[case] in line and path.name in line, line
    assert not (build / "label_quality.parquet").exists()


def test_the_report_speaks_of_every_brought_model(brought, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "report.html"
    database = brought[0] / "build" / "reviewlens.duckdb"
    result = subprocess.run([sys.executable, "-m", "viewer.report", "--db", str(database), "--out", str(out)],
                            capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    page = out.read_text()
    assert "llm has no probabilities (the file gives the predicted class alone): no loss and no calibration." in page
    assert "scores has no heat maps: its predictions were made elsewhere" in page
    assert "dense · toward" in page and "baseline · toward" in page
