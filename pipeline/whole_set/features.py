"""What the pipeline measures on each text and the metadata features made from it, each defined once.

A measure is a column of the `texts` table (its type, its check and its comment, from which sql/schema.sql's table
is completed); a feature is SQL over the `texts` and `predictions` tables. The database's `features` table and its
`text_features` and `text_categories` views, the insights and the correlations all follow from these lists; the
dashboard and the report read the `features` table. Numeric columns of the user's data become features, and text
or true/false columns with few values become categories, without any other change.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from pipeline import artifacts
from pipeline.config import sql_literal
from pipeline.errors import PipelineError


@dataclass(frozen=True)
class Measure:
    """A column of the texts table measured on every text: by preprocessing (tokens), or the metadata step."""

    column: str
    sql_type: str
    check: str  # the schema's check on it; empty for none
    comment: str  # the schema's comment on it


MEASURES = (
    Measure("n_chars", "integer", "n_chars >= 0", "Length of the raw text in characters."),
    Measure("n_tokens", "integer", "n_tokens >= 0",
            "Number of tokens after cleaning (the tokens() macro), before truncation."),
    Measure("n_oov", "integer", "n_oov between 0 and n_tokens",
            "Tokens outside the vocabulary (built on the train subset only)."),
    Measure("truncated", "boolean", "", "True when the text has more tokens than the models see."),
    Measure("polarity", "float", "polarity between -1 and 1",
            "TextBlob polarity of the text, from -1 (negative) to 1 (positive)."),
    Measure("subjectivity", "float", "subjectivity between 0 and 1",
            "TextBlob subjectivity of the text, from 0 (objective) to 1 (subjective)."),
    Measure("n_negations", "integer", "n_negations >= 0", "Negation tokens: not, no, never, dont, cant, without..."),
    Measure("n_contrasts", "integer", "n_contrasts >= 0",
            "Contrast tokens: but, however, although, though, yet, despite..."),
)  # fmt: skip


def measures_sql() -> tuple[str, str]:
    """The measures as columns of the texts table in sql/schema.sql (its {{measures}}), and their comments."""
    columns = "".join(
        f",\n    {m.column} {m.sql_type} not null" + (f" check ({m.check})" if m.check else "") for m in MEASURES
    )
    comments = "".join(f"comment on column texts.{m.column} is {sql_literal(m.comment)};\n" for m in MEASURES)
    return columns, comments


@dataclass(frozen=True)
class Feature:
    name: str
    title: str  # as the pages name it
    sql: str  # its value, over the tables texts and predictions
    kind: str = "numeric"  # numeric, or category (a few named values)
    source: str = "text"  # text (measured on the text here), model (the model's own), data (a column of the file)
    default: bool = False  # shown on the dashboard before the user picks


BUILT_IN = [
    Feature("length_tokens", "length in tokens", "texts.n_tokens", default=True),
    Feature("length_chars", "length in characters", "texts.n_chars"),
    Feature("oov_count", "out-of-vocabulary words", "texts.n_oov", default=True),
    Feature("oov_rate", "out-of-vocabulary rate", "texts.n_oov / greatest(texts.n_tokens, 1)"),
    Feature("polarity", "TextBlob polarity", "texts.polarity"),
    Feature("polarity_strength", "TextBlob polarity strength (|polarity|)", "abs(texts.polarity)", default=True),
    Feature("subjectivity", "TextBlob subjectivity", "texts.subjectivity", default=True),
    Feature("confidence", "model confidence", "predictions.confidence", source="model", default=True),
    Feature("negations", "negation words", "texts.n_negations"),
    Feature("contrasts", "contrast words", "texts.n_contrasts"),
]
# The views made from the features, beside those of sql/schema.sql.
VIEWS = ("text_features", "text_categories")
# Columns of the IMDB tarball's table, named as the study names them.
TITLES = {"rating": "star rating"}


def features(info: artifacts.DatasetInfo) -> list[Feature]:
    """The built-in features, then each numeric and category column of the data."""
    found = list(BUILT_IN)
    taken = {feature.name for feature in BUILT_IN}
    for column, kind in info.columns.items():
        if kind == "text":
            continue
        title = TITLES.get(column, column.replace("_", " "))
        value = f'texts."{column}"' if kind == "numeric" else f"coalesce(texts.\"{column}\"::varchar, '(none)')"
        name = f"{column}_data" if column in taken else column
        found.append(Feature(name, title, value, kind=kind, source="data"))
    return found


def feature_table(found: list[Feature]) -> pd.DataFrame:
    table = pd.DataFrame([asdict(feature) for feature in found]).rename(columns={"name": "feature"})
    return table.assign(rank=range(1, len(table) + 1))


def _values_select(found: list[Feature]) -> str:
    columns = ",\n        ".join(f"({feature.sql}) as {feature.name}" for feature in found)
    return f"""
    select
        predictions.text_id,
        predictions.model,
        texts.subset,
        predictions.loss,
        {columns}
    from predictions
    join texts using (text_id)"""


def views_sql(found: list[Feature]) -> str:
    """The text_features and text_categories views, long tables of every feature's value per text and model."""
    numeric = [f for f in found if f.kind == "numeric"]
    categories = [f for f in found if f.kind == "category"]
    wide_numeric = _values_select([Feature(f.name, f.title, f"({f.sql})::double") for f in numeric])
    sql = f"""
create view text_features as
with wide as ({wide_numeric}
)
unpivot wide
on {", ".join(f.name for f in numeric)}
into name feature value value;
comment on view text_features is 'One row per text, model and numeric feature (the features table): the feature''s value and the model''s loss, for the dashboard.';
"""  # noqa: E501
    if categories:
        wide_categories = _values_select(categories)
        unpivoted = f"""with wide as ({wide_categories}
)
unpivot wide
on {", ".join(f.name for f in categories)}
into name category value value"""
    else:  # the same columns, no rows
        unpivoted = """select text_id, model, subset, loss, '' as category, '' as value
from predictions join texts using (text_id) where false"""
    sql += f"""
create view text_categories as
{unpivoted};
comment on view text_categories is 'One row per text, model and category feature (the features table): the text''s value and the model''s loss.';
"""  # noqa: E501
    return sql


def text_table(texts_path: Path, tokens_path: Path, metadata_path: Path) -> pd.DataFrame:
    """The texts table as the database holds it: the data, its split, the token counts and the metadata."""
    texts = artifacts.read_texts(texts_path).merge(artifacts.read_table(metadata_path), on="text_id")
    tokens = artifacts.read_tokens(tokens_path)
    if not np.array_equal(tokens.text_id, texts["text_id"].to_numpy()):
        raise PipelineError(f"{tokens_path}: does not match {texts_path}; run make again to rebuild both")
    return texts.assign(
        n_chars=texts["text"].str.len(),
        n_tokens=tokens.n_tokens,
        n_oov=tokens.n_oov,
        truncated=tokens.n_tokens > tokens.sequence_length,
    )


def values(found: list[Feature], texts: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """One row per text and model: text_id, model, subset, loss and every feature's value, by the same SQL as
    the database's views."""
    with duckdb.connect() as con:
        con.register("texts", texts)
        con.register("predictions", predictions)
        return con.execute(_values_select(found)).df()
