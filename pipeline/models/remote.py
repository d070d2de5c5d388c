"""Models called at an address (a served model, pipeline/models/served.py; an LLM, pipeline/models/llm.py): the
requests, as any careful client sends them, and the answers kept on disk.

Texts go in batches of a set size, a set number of requests at once, each with a time-out; a time-out, a refused
connection, a 429 or a 5xx answer is tried again after a back-off that doubles (1, 2, 4 s); a step sends at most
`max_requests`. Every answer is appended to build/answers/<model>.jsonl as it comes, keyed by the model's checksum
and the text, so a rebuild, the behavioural tests and the heat maps never send a text twice, and a build stopped
half-way resumes where it was. The secret, if any, is read from the environment variable the settings name, sent
as a bearer token, and written nowhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from tqdm import tqdm

from pipeline.errors import PipelineError, first_line

RETRIED = {408, 425, 429, 500, 502, 503, 504}


class Endpoint:
    """One model's address, settings and answers kept on disk."""

    def __init__(self, name: str, settings: dict, url: str, answers: Path | None) -> None:
        self.name, self.settings, self.url = name, settings, url
        self.where = f"model {name} ({url})"
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        variable = settings.get("token_env")
        if variable:
            secret = os.environ.get(variable)
            if not secret:
                raise PipelineError(
                    f"{self.where}: the environment variable {variable} ([{name}] token_env) is not set; "
                    f"export {variable}=<the endpoint's token> and run make again"
                )
            self.headers["Authorization"] = f"Bearer {secret}"
        self.sent = 0
        self.lock = threading.Lock()
        self.answers_path = answers
        self.kept: dict[str, Any] = {}
        if answers is not None and answers.exists():
            with answers.open() as f:
                for line in f:
                    try:
                        entry = json.loads(line)
                    except json.JSONDecodeError:  # a line cut short when a build was stopped
                        continue
                    self.kept[entry["key"]] = entry["answer"]

    def key(self, text: str) -> str:
        return hashlib.sha256(f"{self.settings['sha256']}\0{text}".encode()).hexdigest()

    def post(self, url: str, body: dict) -> Any:
        """The JSON answer to one request, tried again as the settings say; a one-line error when it fails."""
        data = json.dumps(body).encode()
        tries, wait = self.settings["retries"] + 1, self.settings["backoff"]
        for attempt in range(tries):
            with self.lock:
                if self.sent >= self.settings["max_requests"]:
                    raise PipelineError(
                        f"{self.where}: reached max_requests ({self.settings['max_requests']:,}) in this step; "
                        f"raise [{self.name}] max_requests, or ask for fewer heat maps (attribute_errors)"
                    )
                self.sent += 1
            request = urllib.request.Request(url, data=data, headers=self.headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.settings["timeout"]) as answer:
                    text = answer.read()
            except urllib.error.HTTPError as e:
                detail = first_line(Exception(e.read().decode(errors="replace")[:300])) if e.fp else ""
                problem = f"answered {e.code} {e.reason}" + (f": {detail}" if detail else "")
                if e.code in (401, 403):
                    variable = self.settings.get("token_env")
                    hint = f"check the token in ${variable}" if variable else f"set [{self.name}] token_env"
                    raise PipelineError(f"{self.where}: {problem}; {hint}") from None
                if e.code not in RETRIED:
                    raise PipelineError(f"{self.where}: {problem}; check the endpoint and [{self.name}]") from None
            except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as e:
                reason = getattr(e, "reason", e)
                if isinstance(reason, TimeoutError) or "timed out" in str(reason):
                    problem = f"no answer within {self.settings['timeout']:g} s"
                else:
                    problem = f"cannot connect ({first_line(reason) if isinstance(reason, BaseException) else reason})"
            else:
                try:
                    return json.loads(text)
                except json.JSONDecodeError:
                    raise PipelineError(
                        f"{self.where}: the answer is not JSON ({text[:80]!r}); is this the model's endpoint?"
                    ) from None
            if attempt + 1 < tries:
                time.sleep(wait * 2**attempt)
        raise PipelineError(
            f"{self.where}: {problem} after {tries} tries; check that it is up, or raise [{self.name}] timeout "
            "and retries"
        )

    def answers(self, texts: list[str], ask: Callable[[list[str]], list[Any]], size: int, what: str) -> list[Any]:
        """An answer for every text: those kept on disk, and for the others `ask` (a batch of texts -> their
        answers, one request), `size` texts a request, `concurrency` requests at once, with a progress bar."""
        keys = [self.key(text) for text in texts]
        missing = list(dict.fromkeys(key for key in keys if key not in self.kept))
        text_of = dict(zip(keys, texts, strict=True))
        batches = [missing[start : start + size] for start in range(0, len(missing), size)]
        if batches:
            if self.answers_path is not None:
                self.answers_path.parent.mkdir(parents=True, exist_ok=True)
            with (
                self.answers_path.open("a") if self.answers_path is not None else contextlib.nullcontext() as out,
                ThreadPoolExecutor(self.settings["concurrency"]) as pool,
                tqdm(total=len(missing), desc=f"{self.name}: {what}", unit=" texts", leave=False, mininterval=1) as bar,
            ):
                asked = {pool.submit(ask, [text_of[key] for key in batch]): batch for batch in batches}
                try:
                    for done in as_completed(asked):
                        batch, found = asked[done], done.result()
                        with self.lock:
                            for key, answer in zip(batch, found, strict=True):
                                self.kept[key] = answer
                                if out is not None:
                                    out.write(json.dumps({"key": key, "answer": answer}) + "\n")
                            if out is not None:
                                out.flush()
                        bar.update(len(batch))
                except BaseException:
                    for future in asked:
                        future.cancel()
                    raise
        return [self.kept[key] for key in keys]


def answers_file(endpoint_file: Path, name: str) -> Path:
    """Where a model's answers are kept: build/answers/<model>.jsonl, beside build/models/<model>.endpoint."""
    return Path(endpoint_file).parent.parent / "answers" / f"{name}.jsonl"


def write_endpoint(settings: dict, out: Path) -> None:
    """What stands for a model called at an address beside the database (build/models/<model>.endpoint): its
    settings, never a secret (the settings hold only the name of the variable)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n")
