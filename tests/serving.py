"""Real HTTP servers for tests: a small model behind MLflow's scoring protocol and behind an OpenAI-compatible chat
completions endpoint, on 127.0.0.1 at a free port, each started and stopped by the test that uses it. Standard
library only (http.server, json), so that they run wherever the tests run; faults on request, to see how a client
copes with a server that misbehaves."""

from __future__ import annotations

import json
import math
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

PredictProba = Callable[[list[str]], np.ndarray]
Answer = tuple[int, Any]  # the status, and a JSON-able payload or the raw bytes of the body
MLFLOW_FAULTS = {"error", "flaky", "slow", "shape", "rows", "sum", "junk"}
OPENAI_FAULTS = {"error", "flaky", "slow", "junk", "bearer"}
SLOW_S = 5.0  # the "slow" fault: longer than a client's short time-out
FLAKY_FIRST = 2  # the "flaky" fault: this many POSTs answer 503 before the server recovers
JUNK = b"<html><body>502 Bad Gateway, or so</body></html>"  # a 200 whose body is not JSON
OFF_LABEL_TOKENS = ["I", " cannot", " tell", "."]
NO_LABEL_TOKEN, NO_LABEL_LOGPROB = "The", -9.0
# An answer's tokens, and for each its logprob and the (token, logprob) distribution it was drawn from.
Tokens = tuple[list[str], list[tuple[float, list[tuple[str, float]]]]]


@dataclass
class Served:
    """What a test sees of a running server: where it listens, and what it received."""

    url: str  # what a client is given: .../invocations for MLflow, the base .../v1 for OpenAI
    root: str  # http://127.0.0.1:PORT
    port: int
    requests: int = 0  # POSTs received, refused and failed ones included
    texts: int = 0  # texts answered for
    bodies: list[Any] = field(default_factory=list)  # each POST's parsed JSON body (None where it was no JSON)
    headers: list[dict[str, str]] = field(default_factory=list)  # each POST's headers
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    stop: threading.Event = field(default_factory=threading.Event, repr=False)

    def count(self, texts: int) -> None:
        """Count texts answered for."""
        with self.lock:
            self.texts += texts

    def sleep(self, seconds: float) -> None:
        """Sleep, but wake when the server shuts down."""
        if seconds > 0:
            self.stop.wait(seconds)


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens: a connection to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Quiet(ThreadingHTTPServer):
    """A threading server that writes nothing to stderr when a client hangs up early."""

    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass


class _Handler(BaseHTTPRequestHandler):
    """Reads a POST's body, records it, and answers what `post` makes of it; `get` answers GETs."""

    protocol_version = "HTTP/1.1"
    served: Served
    post: Callable[[int, str, Any, dict[str, str]], Answer]
    get: Callable[[str], Answer]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.answer(*self.get(self.path))

    def do_POST(self) -> None:
        raw = self.body()
        headers = dict(self.headers.items())
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with self.served.lock:
            self.served.requests += 1
            number = self.served.requests
            self.served.bodies.append(body)
            self.served.headers.append(headers)
        try:
            status, payload = self.post(number, self.path, body, headers)
        except Exception as error:  # a bug of the model or of the test: answered, as a real server would
            status, payload = 500, {"error": repr(error), "stack_trace": traceback.format_exc()}
        self.answer(status, payload)

    def body(self) -> bytes:
        """The request's body, sent with a Content-Length or in chunks."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(parts)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def answer(self, status: int, payload: Any) -> None:
        """Send the status and the body, JSON unless it is bytes already, with its Content-Length."""
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def _serve(served: Served, path: str, post: Callable[..., Answer], get: Callable[[str], Answer]) -> Iterator[Served]:
    """Run a server on 127.0.0.1 at a free port in a daemon thread, `served` filled in; shut it down on exit."""
    handler = type("Handler", (_Handler,), {"served": served, "post": staticmethod(post), "get": staticmethod(get)})
    server = _Quiet(("127.0.0.1", 0), handler)
    served.port = server.server_address[1]
    served.root = f"http://127.0.0.1:{served.port}"
    served.url = served.root + path
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        served.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _probabilities(predict_proba: PredictProba, texts: list[str]) -> np.ndarray:
    """The model's answer as a float matrix, texts x classes."""
    probs = np.asarray(predict_proba(texts), dtype=float)
    if probs.ndim != 2 or len(probs) != len(texts):
        raise ValueError(f"predict_proba answered shape {probs.shape} for {len(texts)} texts")
    return probs


def _check_fault(fault: str | None, known: set[str]) -> None:
    if fault is not None and fault not in known:
        raise ValueError(f"unknown fault {fault!r}: one of {sorted(known)}")


# MLflow ---------------------------------------------------------------------------------------------------------------


def _mlflow_error(status: int, code: str, message: str) -> Answer:
    return status, {"error_code": code, "message": message}


def _mlflow_texts(body: Any) -> list[str]:
    """The texts of an MLflow scoring request: dataframe_split, dataframe_records, inputs or instances."""
    if not isinstance(body, dict):
        raise ValueError("the body is no JSON object")
    if "dataframe_split" in body:
        split = body["dataframe_split"]
        columns, rows = split.get("columns") or ["text"], split["data"]
        at = columns.index("text") if "text" in columns else 0
        if len(columns) > 1 and "text" not in columns:
            raise ValueError(f"which of the columns {columns} is the text?")
        return [row[at] if isinstance(row, list) else row for row in rows]
    if "dataframe_records" in body:
        return [next(iter(record.values())) if "text" not in record else record["text"]
                for record in body["dataframe_records"]]  # fmt: skip
    for key in ("inputs", "instances"):
        if key in body:
            values = body[key]
            if isinstance(values, dict):  # {"text": [...]}: one named input
                values = values["text"] if "text" in values else next(iter(values.values()))
            return [value[0] if isinstance(value, list) else value for value in values]
    raise ValueError("the body has none of dataframe_split, dataframe_records, inputs, instances")


@contextmanager
def mlflow_server(
    predict_proba: PredictProba,
    columns: Sequence[str] | None = None,
    fault: str | None = None,
    token: str | None = None,
    delay: float = 0.0,
) -> Iterator[Served]:
    """A model behind MLflow's scoring protocol (`mlflow models serve`): POST /invocations, GET /ping and /health.
    It answers {"predictions": [[p0, p1, ...], ...]}, or, with `columns` (the class names), one record per text as for
    a pyfunc that returns a DataFrame. `token`: a request without "Authorization: Bearer <token>" gets 401. `fault`:
    "error", "flaky", "slow", "shape", "rows", "sum" or "junk" (see the module's constants)."""
    _check_fault(fault, MLFLOW_FAULTS)
    served = Served(url="", root="", port=0)

    def get(path: str) -> Answer:
        if path.split("?")[0] in ("/ping", "/health"):
            return 200, b"\n"
        return _mlflow_error(404, "ENDPOINT_NOT_FOUND", f"no such path: {path}")

    def post(number: int, path: str, body: Any, headers: dict[str, str]) -> Answer:
        served.sleep(delay)
        if path.split("?")[0] != "/invocations":
            return _mlflow_error(404, "ENDPOINT_NOT_FOUND", f"no such path: {path}")
        if token is not None and _header(headers, "Authorization") != f"Bearer {token}":
            return _mlflow_error(401, "UNAUTHENTICATED", "a bearer token is required")
        if fault == "error":
            return _mlflow_error(500, "INTERNAL_ERROR", "the model failed on purpose")
        if fault == "flaky" and number <= FLAKY_FIRST:
            return _mlflow_error(503, "TEMPORARILY_UNAVAILABLE", "not ready yet, try again")
        if fault == "slow":
            served.sleep(SLOW_S)
        content_type = _header(headers, "Content-Type") or ""
        if not content_type.startswith("application/json"):
            return _mlflow_error(415, "BAD_REQUEST", f"only application/json is supported, not {content_type!r}")
        try:
            texts = _mlflow_texts(body)
        except (KeyError, ValueError, TypeError, IndexError, StopIteration) as error:
            return _mlflow_error(400, "BAD_REQUEST", f"failed to parse the input: {error}")
        if fault == "junk":
            return 200, JUNK
        if not texts:
            return 200, {"predictions": []}
        probs = _probabilities(predict_proba, texts)
        served.count(len(texts))
        names = list(columns) if columns is not None else None
        if fault == "shape":
            probs = probs[:, :-1]
            names = names[:-1] if names is not None else None
        if fault == "rows":
            probs = probs[:-1]
        if fault == "sum":
            probs = probs * 1.5
        if names is None:
            return 200, {"predictions": probs.tolist()}
        return 200, {"predictions": [dict(zip(names, row, strict=False)) for row in probs.tolist()]}

    with _serve(served, "/invocations", post, get):
        yield served


def _header(headers: dict[str, str], name: str) -> str | None:
    """A header's value, whatever the case of its name."""
    return next((value for key, value in headers.items() if key.lower() == name.lower()), None)


# OpenAI-compatible chat completions -----------------------------------------------------------------------------------


def _openai_error(status: int, message: str, kind: str, code: str | None = None) -> Answer:
    return status, {"error": {"message": message, "type": kind, "param": None, "code": code}}


def first_token(label: str) -> str:
    """The first token of a label, as a BPE tokenizer might split it: its first 4 characters."""
    return label[:4]


def _variant(token: str) -> str:
    """Another spelling of a token that a model might give a little probability to."""
    for other in (token.capitalize(), token.lower(), " " + token):
        if other != token:
            return other
    return " " + token


def _entry(token: str, logprob: float, top: list[tuple[str, float]], k: int) -> dict:
    """One entry of logprobs.content: the chosen token and the k likeliest."""

    def one(tok: str, lp: float) -> dict:
        return {"token": tok, "logprob": lp, "bytes": list(tok.encode())}

    return {**one(token, logprob), "top_logprobs": [one(t, lp) for t, lp in sorted(top, key=lambda x: -x[1])[:k]]}


def _log(p: float) -> float:
    return math.log(max(p, 1e-30))


def _label_answer(row: np.ndarray, labels: Sequence[str]) -> Tokens:
    """The likeliest label's tokens, and for each its logprob and the distribution it was drawn from."""
    probs = row * (1.0 - math.exp(NO_LABEL_LOGPROB))  # what is left beside the one token that is no label
    best = int(np.argmax(row))
    label = labels[best]
    groups: dict[str, float] = {}
    for name, p in zip(labels, probs, strict=True):
        groups[first_token(name)] = groups.get(first_token(name), 0.0) + float(p)
    head, share = first_token(label), 0.05 * float(probs[best])
    groups[head] -= share
    groups[_variant(head)] = groups.get(_variant(head), 0.0) + share
    first = [(token, _log(p)) for token, p in groups.items()] + [(NO_LABEL_TOKEN, NO_LABEL_LOGPROB)]
    tokens, steps = [head], [(_log(groups[head]), first)]
    if rest := label[len(head) :]:
        tokens.append(rest)
        steps.append((math.log(0.9999), [(rest, math.log(0.9999)), (".", math.log(1e-4))]))
    return tokens, steps


def _off_label_answer(labels: Sequence[str]) -> Tokens:
    """An answer that is no label: "I cannot tell.", the labels' tokens far down."""
    first = [("I", -0.01), ("Sorry", -5.0)] + [(token, -12.0) for token in dict.fromkeys(map(first_token, labels))]
    steps = [(-0.01, first)] + [(-0.001, [(token, -0.001), (" the", -8.0)]) for token in OFF_LABEL_TOKENS[1:]]
    return list(OFF_LABEL_TOKENS), steps


def _last_user_text(body: dict) -> str:
    """The text to classify: between the first "<text>\\n" and the last "\\n</text>" of the last user message."""
    users = [message for message in body["messages"] if message.get("role") == "user"]
    if not users:
        raise ValueError("no user message")
    content = users[-1]["content"]
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}, ...]
        content = "".join(part.get("text", "") for part in content if part.get("type") == "text")
    start, end = content.find("<text>\n"), content.rfind("\n</text>")
    if start < 0 or end < start + len("<text>"):
        raise ValueError("the last user message has no <text> ... </text> block")
    return content[start + len("<text>\n") : end]


@contextmanager
def openai_server(
    predict_proba: PredictProba,
    labels: Sequence[str],
    logprobs: bool = True,
    fault: str | None = None,
    off_label: Collection[str] = (),
    delay: float = 0.0,
    model: str = "tiny-classifier",
) -> Iterator[Served]:
    """A model behind an OpenAI-compatible chat completions endpoint (POST /v1/chat/completions, GET /v1/models). It
    classifies the text between "<text>" and "</text>" of the last user message and answers the likeliest label, cut
    to max_tokens as a real endpoint would, with logprobs of its tokens when asked and `logprobs` is true (else
    "logprobs": null). A text in `off_label` gets "I cannot tell.". `fault`: "error", "flaky", "slow", "junk" or
    "bearer" (401 without a non-empty bearer token)."""
    _check_fault(fault, OPENAI_FAULTS)
    labels = list(labels)
    served = Served(url="", root="", port=0)
    created = int(time.time())

    def get(path: str) -> Answer:
        if path.split("?")[0] == "/v1/models":
            entry = {"id": model, "object": "model", "created": created, "owned_by": "reviewlens-tests"}
            return 200, {"object": "list", "data": [entry]}
        return _openai_error(404, f"no such path: {path}", "invalid_request_error")

    def post(number: int, path: str, body: Any, headers: dict[str, str]) -> Answer:
        served.sleep(delay)
        if path.split("?")[0] != "/v1/chat/completions":
            return _openai_error(404, f"no such path: {path}", "invalid_request_error")
        if fault == "bearer":
            auth = _header(headers, "Authorization") or ""
            if not auth.startswith("Bearer ") or not auth[len("Bearer ") :].strip():
                return _openai_error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        if fault == "error":
            return _openai_error(500, "The server had an error while processing your request.", "server_error")
        if fault == "flaky" and number <= FLAKY_FIRST:
            return _openai_error(503, "The engine is currently overloaded, please try again later.", "server_error")
        if fault == "slow":
            served.sleep(SLOW_S)
        if not isinstance(body, dict):
            return _openai_error(400, "We could not parse the JSON body of your request.", "invalid_request_error")
        if body.get("stream"):
            return _openai_error(400, "this test server does not stream", "invalid_request_error")
        try:
            text = _last_user_text(body)
        except (KeyError, ValueError, TypeError, AttributeError) as error:
            return _openai_error(400, f"bad messages: {error}", "invalid_request_error")
        if fault == "junk":
            return 200, JUNK
        if text in off_label:
            tokens, steps = _off_label_answer(labels)
        else:
            tokens, steps = _label_answer(_probabilities(predict_proba, [text])[0], labels)
        served.count(1)
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        kept = len(tokens) if not limit else min(len(tokens), int(limit))
        top = body.get("top_logprobs")
        k = 5 if top is None else int(top)
        entries = [_entry(token, lp, dist, k) for token, (lp, dist) in zip(tokens[:kept], steps[:kept], strict=True)]
        prompt_tokens = sum(len(str(message.get("content", "")).split()) + 4 for message in body["messages"])
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": "".join(tokens[:kept]), "refusal": None},
            "logprobs": {"content": entries, "refusal": None} if logprobs and body.get("logprobs") else None,
            "finish_reason": "length" if kept < len(tokens) else "stop",
        }
        return 200, {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or model,
            "system_fingerprint": "fp_reviewlens",
            "choices": [choice],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": kept, "total_tokens": prompt_tokens + kept},
        }

    with _serve(served, "/v1", post, get):
        yield served
