"""Data sets of another shape than IMDB, written from small grammars: three classes of support tickets in a CSV
with other column names, no split column and extra columns; and a two-class Parquet file with integer labels and
a split column that includes validation rows."""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd

TICKETS = {
    "billing": ["i was charged twice", "the invoice shows the wrong amount", "please refund my payment",
                "my card was billed after i cancelled", "why is the price higher this month"],
    "delivery": ["my parcel has not arrived", "the courier left the box at the wrong door",
                 "tracking says delivered but nothing came", "the package arrived damaged", "when will my order ship"],
    "login": ["i cannot sign in to my account", "the password reset email never comes",
              "my account is locked after three tries", "two factor code is rejected", "the app logs me out"],
}  # fmt: skip
FILLER = ["thanks for your help", "order 1234", "sent from my phone", "this is urgent", "hello team"]
PER_CLASS = 120
# A text of one megabyte: it must go through, cut to the sequence length.
HUGE_TEXT = ("the invoice shows the wrong amount and i was charged twice. " * 17_000)[: 1 << 20]
TICKET_CONFIG = """
models = ["dense", "cnn", "small"]

[data]
text_column = "body"
label_column = "category"
id_column = "ticket_no"

[small]
architecture = "cnn"
filters = 4
"""


def ticket_text(rng: random.Random, label: str) -> str:
    own = rng.sample(TICKETS[label], rng.randint(1, 2))
    if rng.random() < 0.15:  # some tickets mention another problem too, so that some are hard
        own.append(rng.choice(TICKETS[rng.choice([c for c in TICKETS if c != label])]))
    return ". ".join(s.capitalize() for s in own + rng.sample(FILLER, rng.randint(0, 2))) + "."


def write_tickets(path: Path, seed: int = 0) -> Path:
    """A CSV of support tickets: body, category (three classes), ticket_no, priority (a number) and channel (a
    category); quoted commas and line breaks inside the texts; no split column."""
    rng = random.Random(seed)
    rows = []
    for label in TICKETS:
        for _ in range(PER_CLASS):
            rows.append({"body": ticket_text(rng, label), "category": label, "priority": rng.randint(1, 5),
                         "channel": rng.choice(["email", "phone", "chat"])})  # fmt: skip
    rows[7]["body"] = 'Hello, "team",\nmy parcel has not arrived.'
    rows[0]["body"] = HUGE_TEXT
    rng.shuffle(rows)
    frame = pd.DataFrame(rows)
    frame.insert(0, "ticket_no", [f"T-{i:05d}" for i in range(len(frame))])
    frame.to_csv(path, index=False)
    return path


REVIEWS = {1: ["great product", "works perfectly", "i love it", "five stars"],
           0: ["broke after a day", "total waste of money", "would not buy again", "very poor quality"]}  # fmt: skip
PARQUET_CONFIG = """
models = ["cnn"]
"""


def write_reviews_parquet(path: Path, seed: int = 0, per_class: int = 150) -> Path:
    """A Parquet file of short product texts: text, integer label 0 or 1, and a split column with train,
    validation and test rows."""
    rng = random.Random(seed)
    rows = []
    for label, phrases in REVIEWS.items():
        for i in range(per_class):
            text = ", ".join(rng.sample(phrases, 2) + rng.sample(FILLER, 1))
            split = "test" if i % 5 == 0 else "validation" if i % 10 == 1 else "train"
            rows.append({"text": text, "label": label, "split": split})
    pd.DataFrame(rows).to_parquet(path, index=False)
    return path
