"""An LLM as a classifier, through an OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp's server, Ollama),
behind the one model interface: `[name] architecture = "chat"` with its url, model and prompt in the settings.

Each text is one request: the prompt template with the label list and the text, at temperature 0, asking for the
log-probabilities of the answer's first token and its most likely alternatives. A label's probability is the sum of
the probabilities of the alternatives it starts with (" Billing" and "bill" both count for billing), renormalised
over the labels. An answer that is no label is counted and kept (the Overview lists them); its probabilities are the
labels' share of the alternatives, or equal where they have none. Where the endpoint gives no log-probabilities,
the answer's class alone is used, as for a table of predicted classes. Requests are sent and kept by
pipeline/models/remote.py; heat maps are made by calling it (pipeline/per_text/occlusion.py).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from pipeline.errors import PipelineError
from pipeline.models.classifier import Corpus
from pipeline.models.remote import Endpoint, answers_file
from pipeline.per_text.occlusion import WithoutGradients
from pipeline.registry import ModelSpec

NO_LOGPROBS = "the endpoint gives no log-probabilities, so its answers' classes alone are used"
NOT_ASKED = "logprobs = false in its settings, so its answers' classes alone are used"
SHOWN_ANSWERS = 200  # answers outside the labels kept for the Overview


def cleaned(token: str) -> str:
    return token.strip().strip("\"'`.:*").lower()


class LLMClassifier(WithoutGradients):
    def __init__(self, spec: ModelSpec, endpoint_file: Path | None, corpus: Corpus) -> None:
        super().__init__(spec, corpus)
        if not self.settings["model"]:
            raise PipelineError(f'model {spec.name}: no model name; set [{spec.name}] model, e.g. "gpt-4o-mini"')
        for field in ("{labels}", "{text}"):
            if field not in self.settings["prompt"]:
                raise PipelineError(f"model {spec.name}: the prompt has no {field}; put one in [{spec.name}] prompt")
        url = self.settings["url"].rstrip("/")
        self.chat = url if url.endswith("/chat/completions") else f"{url}/chat/completions"
        self.endpoint = Endpoint(
            spec.name, self.settings, url, endpoint_file and answers_file(endpoint_file, spec.name)
        )
        named = [str(label) for label in self.settings["labels"]] or self.labels
        if sorted(named) != sorted(self.labels):
            raise PipelineError(
                f"model {spec.name}: [{spec.name}] labels ({', '.join(named)}) are not the data's "
                f"({', '.join(self.labels)}); list the data's labels as the prompt should name them"
            )
        self.named = named  # as the prompt lists them
        self.no_probabilities = None if self.settings["logprobs"] else NOT_ASKED
        self.off_label: list[tuple[int, str]] = []  # (row, answer) of answers that are no label
        self.answered = 0
        self.without_logprobs = 0

    def what(self) -> str:
        return f"{self.settings['model']} at {self.settings['url']}, prompted with the {len(self.labels)} labels"

    def describe(self) -> dict:
        return {
            **super().describe(),
            "off_label": [{"row": row, "answer": answer} for row, answer in self.off_label[:SHOWN_ANSWERS]],
            "off_label_count": len(self.off_label),
        }

    @property
    def no_attributions(self) -> str | None:
        """Heat maps need probabilities: an answer's class alone rarely moves when a word is left out."""
        return self.no_probabilities

    def prompt(self, text: str) -> list[dict]:
        user = self.settings["prompt"].replace("{labels}", "\n".join(self.named)).replace("{text}", text)
        system = [{"role": "system", "content": self.settings["system"]}] if self.settings["system"] else []
        return [*system, {"role": "user", "content": user}]

    def ask(self, texts: list[str]) -> list[dict]:
        """One request per text (the batch holds one): its answer and the first token's alternatives."""
        body = {
            "model": self.settings["model"],
            "messages": self.prompt(texts[0]),
            "temperature": 0,
            "max_tokens": self.settings["max_tokens"],
        }
        if self.settings["logprobs"]:
            body |= {"logprobs": True, "top_logprobs": self.settings["top_logprobs"]}
        answer = self.endpoint.post(self.chat, body)
        try:
            choice = answer["choices"][0]
            content = choice["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise PipelineError(
                f"{self.endpoint.where}: the answer has no choices[0].message.content ({str(answer)[:80]}); is it an "
                "OpenAI-compatible chat completions endpoint?"
            ) from None
        tokens = ((choice.get("logprobs") or {}).get("content") or []) if self.settings["logprobs"] else []
        # The first token that is not blank carries the choice between the labels.
        first = next((token for token in tokens if token.get("token", "").strip()), None)
        top = None
        if first is not None:
            top = [[alt["token"], float(alt["logprob"])] for alt in first.get("top_logprobs") or []]
            top = top or [[first["token"], float(first["logprob"])]]
        return [{"content": content, "top": top}]

    def read(self, answer: dict) -> tuple[np.ndarray | None, int | None]:
        """The labels' probabilities from an answer's alternatives (None without them), and the label it named."""
        content = cleaned(answer["content"])
        named = next((i for i, label in enumerate(self.labels) if cleaned(label) == content), None)
        if named is None:  # "Billing." or "billing\n..." still name a label
            named = next(
                (i for i, label in enumerate(self.labels) if content.split() and content.split()[0] == cleaned(label)),
                None,
            )
        if answer["top"] is None:
            return None, named
        mass = np.zeros(len(self.labels))
        for token, logprob in answer["top"]:
            piece = cleaned(token)
            starts = [i for i, label in enumerate(self.labels) if piece and cleaned(label).startswith(piece)]
            for i in starts:  # a token that begins several labels is shared among them
                mass[i] += math.exp(logprob) / len(starts)
        return (mass / mass.sum() if mass.sum() > 0 else None), named

    def predict(self, corpus: Corpus) -> tuple[np.ndarray, None]:
        texts = [str(text) for text in corpus.texts]
        answers = self.endpoint.answers(texts, self.ask, 1, "answers")
        k = len(self.labels)
        probabilities = np.zeros((len(texts), k))
        for row, answer in enumerate(answers):
            read, named = self.read(answer)
            if corpus.made_up:  # changed texts (behavioural tests, heat maps): not the data's answers
                probabilities[row] = read if read is not None else np.eye(k)[named] if named is not None else 1 / k
                continue
            self.answered += 1
            if named is None:
                self.off_label.append((int(corpus.tokens.text_id[row]), answer["content"].strip()[:300]))
            if read is None:
                self.without_logprobs += answer["top"] is None
                read = np.eye(k)[named] if named is not None else np.full(k, 1 / k)
            probabilities[row] = read
        if self.without_logprobs and self.without_logprobs == self.answered and not self.no_probabilities:
            self.no_probabilities = NO_LOGPROBS
        return probabilities, None


def load(spec: ModelSpec, endpoint_file: Path, corpus: Corpus) -> LLMClassifier:
    return LLMClassifier(spec, endpoint_file, corpus)
