"""A model served over HTTP that speaks MLflow's scoring protocol (MODEL=http://host:5000/invocations), as MLflow,
Databricks and SageMaker endpoints do, behind the one model interface: texts go as a `dataframe_split` of one
column, and one row of class probabilities comes back per text (a list, or a record keyed by class name). Requests
are sent and kept by pipeline/models/remote.py; heat maps are made by calling it (pipeline/per_text/occlusion.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.errors import PipelineError
from pipeline.models.classifier import Corpus
from pipeline.models.remote import Endpoint, answers_file
from pipeline.per_text.occlusion import WithoutGradients
from pipeline.registry import ModelSpec

TOLERANCE = 1e-3  # how far an answer's probabilities may sum from 1


class ServedClassifier(WithoutGradients):
    def __init__(self, spec: ModelSpec, endpoint_file: Path | None, corpus: Corpus) -> None:
        super().__init__(spec, corpus)
        self.endpoint = Endpoint(
            spec.name, self.settings, self.settings["url"], endpoint_file and answers_file(endpoint_file, spec.name)
        )
        theirs = [str(label) for label in self.settings["labels"]] or self.labels
        if sorted(theirs) != sorted(self.labels):
            raise PipelineError(
                f"{self.endpoint.where}: [{spec.name}] labels ({', '.join(theirs)}) are not the data's "
                f"({', '.join(self.labels)}); list the data's labels in the order of its probabilities"
            )
        self.theirs = theirs
        self.order = np.array([theirs.index(label) for label in self.labels])

    def what(self) -> str:
        return f"served at {self.settings['url']} (MLflow scoring protocol)"

    def predict(self, corpus: Corpus) -> tuple[np.ndarray, None]:
        texts = [str(text) for text in corpus.texts]
        rows = self.endpoint.answers(texts, self.ask, self.settings["batch_size"], "predictions")
        return np.array(rows, dtype=np.float64).reshape(len(texts), len(self.labels))[:, self.order], None

    def ask(self, texts: list[str]) -> list[list[float]]:
        """One request: the texts' class probabilities, in the endpoint's label order, checked."""
        column = self.settings["column"]
        answer = self.endpoint.post(
            self.settings["url"], {"dataframe_split": {"columns": [column], "data": [[t] for t in texts]}}
        )
        rows = answer.get("predictions") if isinstance(answer, dict) else answer
        where = self.endpoint.where
        if not isinstance(rows, list) or len(rows) != len(texts):
            got = f"{len(rows)} rows" if isinstance(rows, list) else f"no list of predictions ({str(answer)[:60]})"
            # MLflow's sklearn flavour hands a pipeline the data frame, which a bare TfidfVectorizer reads as one text.
            hint = (
                "; a scikit-learn pipeline served by MLflow must pick the text column (e.g. a ColumnTransformer)"
                if isinstance(rows, list) and len(rows) == 1 < len(texts)
                else ""
            )
            raise PipelineError(
                f"{where}: answered {got} for {len(texts)} texts; it must answer one row of class probabilities per "
                f'text, {{"predictions": [[...], ...]}}{hint}'
            )
        found = []
        for row in rows:
            if isinstance(row, dict):
                missing = [label for label in self.theirs if label not in row]
                if missing:
                    raise PipelineError(
                        f"{where}: an answer has no {', '.join(missing)} (it has {', '.join(map(str, row))}); its "
                        "columns must be the data's labels"
                    )
                row = [row[label] for label in self.theirs]
            if not isinstance(row, list) or len(row) != len(self.theirs):
                width = len(row) if isinstance(row, list) else 1
                raise PipelineError(
                    f"{where}: answered {width} probabilities a text, the data has {len(self.theirs)} labels "
                    f"({', '.join(self.theirs)}); serve a model of this label set, or set [{self.name}] labels"
                )
            try:
                values = np.array(row, dtype=np.float64)
            except (TypeError, ValueError):
                raise PipelineError(
                    f"{where}: answered {str(row)[:60]}, not numbers; it must answer probabilities"
                ) from None
            if (values < -TOLERANCE).any() or abs(values.sum() - 1) > TOLERANCE or not np.isfinite(values).all():
                raise PipelineError(
                    f"{where}: answered probabilities that sum to {values.sum():.3g} "
                    f"({', '.join(f'{v:.3g}' for v in values)}); it must answer class probabilities (a softmax)"
                )
            found.append(values.tolist())
        return found


def load(spec: ModelSpec, endpoint_file: Path, corpus: Corpus) -> ServedClassifier:
    return ServedClassifier(spec, endpoint_file, corpus)
