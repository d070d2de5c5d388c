"""Train one model on the train subset and validate it on the hold-out; pipeline.per_text.predict then analyses it,
as it does a model brought in.

    python -m pipeline train --model dense --tokens build/tokens.npz \
        --out build/models/dense.keras --history build/training/dense.json --dynamics build/dynamics/dense.npz
"""

from __future__ import annotations

from pathlib import Path

from pipeline import quiet_tensorflow, tensorflow_notes_left_out  # noqa: E402

quiet_tensorflow()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from pipeline import artifacts, cli, registry  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.models import dynamics  # noqa: E402
from pipeline.models.architectures import build_model  # noqa: E402
from pipeline.sampling import seeded_sample  # noqa: E402

MIN_BATCH = 16
BATCHES_PER_EPOCH = 150  # IMDB: 22,500 / 150 = 150 >= 128, so its batches stand


class BatchHistory(keras.callbacks.Callback):
    """Loss and accuracy of every batch.

    Keras reports the mean over the epoch so far; the figure of the batch alone is recovered from
    two consecutive means, weighted by the samples each covers.
    """

    def __init__(self, samples: int, batch_size: int) -> None:
        super().__init__()
        self.samples, self.batch_size = samples, batch_size
        self.batches: list[dict] = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch, self.seen, self.means = epoch + 1, 0, {"loss": 0.0, "accuracy": 0.0}

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        seen = min(self.seen + self.batch_size, self.samples)
        row = {"epoch": self.epoch, "batch": batch + 1}
        for metric, previous in self.means.items():
            mean = float(logs[metric])
            alone = (mean * seen - previous * self.seen) / (seen - self.seen)
            row[metric] = min(max(alone, 0.0), 1.0 if metric == "accuracy" else float("inf"))
            self.means[metric] = mean
        self.seen = seen
        self.batches.append(row)


def fitted_settings(settings: dict, examples: int, sequence_length: int, max_sequence_length: int) -> dict:
    """The model's settings as they fit the data set. The defaults were tuned on IMDB (22,500 training texts of
    400 tokens), where they stand; a small data set gets more epochs (at least min_examples texts seen in all), a
    large one fewer (at most max_examples texts in all, but one whole epoch at least),
    smaller batches (at least BATCHES_PER_EPOCH of them) and a gentler learning-rate decay; short texts get less
    embedding dropout, which drops whole embedding channels of every token: a ten-word question has none to spare,
    and a CNN gets wider embeddings. Figures: TREC, 4,906 training questions of 16 tokens, seeds 1337, 1, 2, 3, 4, 5."""
    epochs = max(settings["epochs"], -(-settings["min_examples"] // max(examples, 1)))
    if settings["max_examples"]:  # a large data set: fewer epochs, each text still seen at least once
        epochs = max(1, min(epochs, settings["max_examples"] // max(examples, 1)))
    batch_size = max(MIN_BATCH, min(settings["batch_size"], examples // BATCHES_PER_EPOCH))
    short = min(1.0, sequence_length / max_sequence_length)
    dropout = settings["embedding_dropout"] * short
    # The decay per epoch is there to stop IMDB's last epoch overfitting; a data set that needs k times the epochs
    # is still learning at the end, so its run decays k times less in all: the per-epoch factor is raised to the
    # power 1 / k^2. TREC's CNN (k = 13/3: to 0.62 of the rate instead of 0.125): macro-F1 0.77 -> 0.83, higher on
    # all 6 seeds (the rarest class, 77 training questions, was often never predicted), accuracy 0.867 -> 0.872.
    lr_decay = settings["lr_decay"] ** ((settings["epochs"] / epochs) ** 2)
    # A CNN's capacity on a long text lies in its positions (IMDB: 400 tokens pooled down to 25); on a short one
    # the pooling leaves a single position after block 2, so each token's embedding has to carry what the filters
    # read: it widens towards the number of filters as the texts get shorter. The 16 dimensions were IMDB's cost
    # compromise. TREC's CNN at 31 instead of 16: accuracy 0.854 -> 0.872, higher on all 6 seeds, for 16% more
    # CPU time (24 s); 64 was no better than 32 (0.863 against 0.872 on 3 seeds, before the decay rule).
    dim = settings["embedding_dim"]
    dim = max(dim, round(dim + (settings.get("filters", dim) - dim) * (1 - short)))
    return {
        **settings,
        "epochs": epochs,
        "batch_size": batch_size,
        "embedding_dropout": dropout,
        "lr_decay": lr_decay,
        "embedding_dim": dim,
    }


def train(name: str, config: dict, data: artifacts.Tokens) -> tuple[keras.Model, dict, artifacts.Dynamics]:
    """The trained model, the settings it was trained with and its history, batch by batch and epoch by epoch, and
    its training dynamics."""
    keras.utils.set_random_seed(config["seed"])
    tf.config.experimental.enable_op_determinism()
    subset, x, y = data.subset, data.sequences, data.label.astype("int32")
    train_rows, val_rows = subset == "train", subset == "validation"
    settings = fitted_settings(
        config[name], int(train_rows.sum()), data.sequence_length, config["text"]["max_sequence_length"]
    )

    model = build_model(name, settings, len(data.vocabulary), len(data.labels))
    epochs = settings["epochs"]
    steps_per_epoch = -(-int(train_rows.sum()) // settings["batch_size"])
    # The learning rate shrinks by lr_decay after every epoch: late epochs refine instead of overfitting.
    learning_rate = keras.optimizers.schedules.ExponentialDecay(
        settings["learning_rate"], decay_steps=steps_per_epoch, decay_rate=settings["lr_decay"], staircase=True
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    batches = BatchHistory(int(train_rows.sum()), settings["batch_size"])
    # The training and validation texts' probabilities after every epoch, recorded from the passes training makes
    # (record = false trains the model alone, as make bench does to measure what recording costs).
    recorded = np.flatnonzero(train_rows | val_rows)
    kept = seeded_sample(len(recorded), config["dynamics"]["sample"], config["seed"])
    place = np.searchsorted(recorded, np.arange(len(y)))  # a recorded text's row among them
    fitted, inputs, recorder = model, lambda rows: x[rows], None
    if config["dynamics"]["record"]:
        fitted = dynamics.Recording(model, len(recorded), len(data.labels))
        fitted.compile(optimizer=model.optimizer, loss=model.loss, metrics=["accuracy"])
        inputs = lambda rows: (x[rows], place[rows])  # noqa: E731
        recorder = dynamics.EpochRecorder(fitted, kept)
    with tensorflow_notes_left_out():
        fit = fitted.fit(
            inputs(train_rows),
            y[train_rows],
            validation_data=(inputs(val_rows), y[val_rows]) if val_rows.any() else None,
            epochs=epochs,
            batch_size=settings["batch_size"],
            callbacks=[batches] + ([recorder] if recorder is not None else []),
            verbose=2,
        )
    history = [
        {"epoch": i + 1, **{key: float(values[i]) for key, values in fit.history.items()}} for i in range(epochs)
    ]
    # Early learning ends where the validation loss is lowest: past it, the model fits what it cannot generalise.
    early = int(np.argmin(fit.history["val_loss"])) + 1 if "val_loss" in fit.history else epochs
    no_epochs = np.zeros((0, len(kept), len(data.labels)), np.float32)  # record = false
    probabilities = np.stack(recorder.epochs) if recorder is not None else no_epochs
    seen = artifacts.Dynamics(data.text_id[recorded[kept]], probabilities, early)
    return model, {"settings": settings, "batches": batches.batches, "epochs": history}, seen


def main() -> None:
    p = cli.parser(__doc__)
    p.add_argument("--model", required=True, help="a name from the models setting")
    p.add_argument("--tokens", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--history", required=True, type=Path, help="JSON with the settings used and the history")
    p.add_argument("--dynamics", required=True, type=Path, help="its training dynamics (.npz)")
    args = p.parse_args()
    config = load_config(args.config)
    registry.spec(config, args.model)  # a model the settings name
    data = artifacts.read_tokens(args.tokens)

    model, history, seen = train(args.model, config, data)
    artifacts.write_summary(args.history, history)
    artifacts.write_dynamics(args.dynamics, seen)
    with cli.atomic_output(args.out.with_suffix(".keras")) as tmp:
        model.save(tmp.with_suffix(".keras"))
        tmp.with_suffix(".keras").replace(tmp)
