"""Bad input ends with one clear line naming the file, a non-zero exit, and the previous database intact."""

from __future__ import annotations

import gzip
import http.server
import io
import re
import tarfile
import threading
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ROOT, copy_build, last_error_line, make
from tests.imdb_fixture import review_name, write_tarball


def assert_fails_cleanly(result, build: Path, before: bytes, *names: str) -> str:
    assert result.returncode != 0
    line = last_error_line(result)
    assert line, result.stderr[-2000:]
    for name in names:
        assert name in line, line
    assert "Traceback" not in result.stderr
    assert (build / "reviewlens.duckdb").read_bytes() == before
    assert not list(build.glob(".*tmp*")), "a temporary file was left behind"
    return line


def run_bad(build: Path, data: Path, *names: str) -> str:
    before = (build / "reviewlens.duckdb").read_bytes()
    return assert_fails_cleanly(make(build, "all", data=data), build, before, str(data), *names)


def tar_gz(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_missing_data_file(build_with_database, tmp_path):
    line = run_bad(build_with_database, tmp_path / "nowhere" / "aclImdb_v1.tar.gz")
    assert "not found" in line


def test_file_that_is_not_gzip(build_with_database, tmp_path):
    data = tmp_path / "aclImdb_v1.tar.gz"
    data.write_text("<html>Not found</html>")
    assert "not a gzip-compressed tar" in run_bad(build_with_database, data)


def test_gzip_that_is_not_a_tar(build_with_database, tmp_path):
    data = tmp_path / "aclImdb_v1.tar.gz"
    data.write_bytes(gzip.compress(b"just some text, no tar headers here" * 100))
    assert "not a gzip-compressed tar" in run_bad(build_with_database, data)


def test_truncated_tarball(build_with_database, tarball, tmp_path):
    data = tmp_path / "aclImdb_v1.tar.gz"
    data.write_bytes(tarball.read_bytes()[: tarball.stat().st_size // 2])
    assert "truncated" in run_bad(build_with_database, data)


def test_tarball_without_the_aclimdb_layout(build_with_database, tmp_path):
    data = tar_gz(tmp_path / "other.tar.gz", {"photos/cat.txt": b"meow", "aclImdb/README": b"readme only"})
    assert "no aclImdb" in run_bad(build_with_database, data)


def test_tarball_with_a_folder_short_of_reviews(build_with_database, tmp_path):
    data = write_tarball(tmp_path / "short.tar.gz", per_folder=60)
    assert "aclImdb/train/neg/ holds 60 reviews, expected 100" in run_bad(build_with_database, data)


def test_review_that_is_not_utf8(build_with_database, tmp_path):
    bad = review_name("test", "pos", 7)
    data = write_tarball(tmp_path / "latin1.tar.gz", extra={bad: "Très bien".encode("latin-1")})
    assert "not valid UTF-8" in run_bad(build_with_database, data, bad)


def test_review_that_cannot_be_read(build_with_database, tmp_path):
    bad = review_name("train", "neg", 3)
    data = tmp_path / "link.tar.gz"
    write_tarball(data)
    # Rewrite with the review replaced by a symbolic link: a member with no content to read.
    with tarfile.open(data) as source:
        members = [(m, source.extractfile(m).read() if m.isfile() else None) for m in source.getmembers()]
    with tarfile.open(data, "w:gz") as archive:
        for member, content in members:
            if member.name == bad:
                member = tarfile.TarInfo(bad)
                member.type, member.linkname = tarfile.SYMTYPE, "/etc/passwd"
                archive.addfile(member)
            else:
                archive.addfile(member, io.BytesIO(content) if content is not None else None)
    assert "not a regular file" in run_bad(build_with_database, data, bad)


def test_config_with_an_unknown_setting(build_with_database, tarball, tmp_path):
    config = tmp_path / "typo.toml"
    config.write_text("[cnn]\nfilterz = 3\n")
    before = (build_with_database / "reviewlens.duckdb").read_bytes()
    result = make(build_with_database, "all", data=tarball, config=config)
    assert_fails_cleanly(result, build_with_database, before, str(config), "filterz")


# --- the download path real users take, against a local server ------------------------------------


class TarballServer(http.server.BaseHTTPRequestHandler):
    body = b""
    status = 200
    claimed_length: int | None = None

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.send_response(self.status)
        self.send_header("Content-Length", str(self.claimed_length or len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), TarballServer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def serve(httpd, body: bytes, status: int = 200, claimed_length: int | None = None) -> dict:
    TarballServer.body, TarballServer.status, TarballServer.claimed_length = body, status, claimed_length
    return {"REVIEWLENS_DATA_URL": f"http://127.0.0.1:{httpd.server_port}/aclImdb_v1.tar.gz"}


def test_download_shows_progress_checks_and_keeps_the_tarball(server, tarball, tmp_path):
    env = serve(server, tarball.read_bytes())
    # Only the download target: the rest of the pipeline is covered by the other tests.
    result = make(tmp_path, str(tmp_path / "aclImdb_v1.tar.gz"), env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "downloading aclImdb_v1.tar.gz" in result.stderr and "100%" in result.stderr
    assert (tmp_path / "aclImdb_v1.tar.gz").read_bytes() == tarball.read_bytes()


@pytest.mark.parametrize(
    ("status", "body", "claimed", "expected"),
    [
        (404, b"not found", None, "HTTP 404"),
        (200, b"<html>captive portal</html>", None, "not the IMDB tarball"),
        (200, b"\x1f\x8b partial", 10_000, "stopped at"),
    ],
    ids=["http-error", "not-a-tarball", "cut-short"],
)
def test_failed_download(server, build_with_database, status, body, claimed, expected):
    env = serve(server, body, status, claimed)
    before = (build_with_database / "reviewlens.duckdb").read_bytes()
    result = make(build_with_database, "all", env=env)
    line = assert_fails_cleanly(result, build_with_database, before, env["REVIEWLENS_DATA_URL"], expected)
    assert not (build_with_database / "aclImdb_v1.tar.gz").exists()
    assert "DATA=" in line or "again" in line


def test_download_from_an_unreachable_host(build_with_database):
    env = {"REVIEWLENS_DATA_URL": "http://127.0.0.1:9/aclImdb_v1.tar.gz"}
    before = (build_with_database / "reviewlens.duckdb").read_bytes()
    result = make(build_with_database, "all", env=env)
    assert "download failed" in assert_fails_cleanly(result, build_with_database, before, env["REVIEWLENS_DATA_URL"])


def test_a_failed_database_write_keeps_the_previous_file(build_dir, tarball, tmp_path):
    build = copy_build(build_dir, tmp_path / "build")
    before = (build / "reviewlens.duckdb").read_bytes()
    # A predictions file that breaks a schema constraint makes the write fail half-way.
    predictions = pd.read_parquet(build / "predictions" / "cnn.parquet")
    predictions.loc[0, "p_positive"] = 1.5
    predictions.to_parquet(build / "predictions" / "cnn.parquet")
    result = make(build, "all", data=tarball)
    assert_fails_cleanly(result, build, before, "reviewlens.duckdb")


def test_config_file_not_found(build_with_database, tarball, tmp_path):
    config = tmp_path / "nowhere.toml"
    before = (build_with_database / "reviewlens.duckdb").read_bytes()
    result = make(build_with_database, "all", data=tarball, config=config)
    line = assert_fails_cleanly(result, build_with_database, before, str(config))
    assert "config file not found; pass an existing file with CONFIG=" in line


def test_config_that_is_not_toml(build_with_database, tarball, tmp_path):
    config = tmp_path / "broken.toml"
    config.write_text("[cnn\nepochs = 3\n")
    before = (build_with_database / "reviewlens.duckdb").read_bytes()
    result = make(build_with_database, "all", data=tarball, config=config)
    assert "not valid TOML" in assert_fails_cleanly(result, build_with_database, before, str(config))


def test_config_with_a_setting_of_the_wrong_type(build_with_database, tarball, tmp_path):
    config = tmp_path / "typed.toml"
    config.write_text('[cnn]\nepochs = "five"\n')
    before = (build_with_database / "reviewlens.duckdb").read_bytes()
    result = make(build_with_database, "all", data=tarball, config=config)
    line = assert_fails_cleanly(result, build_with_database, before, str(config))
    assert "'epochs' must be int like its default 3, not 'five'" in line


def test_every_case_in_the_readme_catalogue_has_its_test():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## When something is wrong", 1)[1].split("\n## ", 1)[0]
    named = {name for row in re.findall(r"^\|.*\| ([^|]*) \|$", section, flags=re.M) for name in
             re.findall(r"`(test_\w+)`", row)}  # fmt: skip
    assert len(named) >= 30
    code = "\n".join(path.read_text() for path in (ROOT / "tests").rglob("test_*.py"))
    defined = set(re.findall(r"^def (test_\w+)", code, flags=re.M))
    assert named - defined == set()


# --- a file of the user's own: each problem one line, the previous database untouched ----------------------------

GOOD_ROWS = "".join(f'{i},"text number {i}",{"ab"[i % 2]},{"test" if i % 5 == 0 else "train"}\n' for i in range(20))
BAD_DATA = {
    # name: (file name, content, words the error line holds)
    "empty": ("tickets.csv", b"", ["the file is empty"]),
    "no-text-column": ("tickets.csv", b"body,label\nhello,a\nbye,b\n", ["no column 'text'", "found: body, label"]),
    "broken-quote": ("tickets.csv", b'text,label\n"fine",a\n"never closed,b\nmore,a\n', ["line 3", "never closed"]),
    "ragged-row": ("tickets.csv", b"text,label\nhello,a\nx,y,z\nq,b\n", ["line 3 has 3 fields"]),
    "not-utf8": ("tickets.csv", "text,label\nhello,a\nTrès bien,b\n".encode("latin-1"),
                 ["line 3 is not valid utf-8", 'encoding = "latin-1"']),
    "missing-texts-and-labels": ("tickets.csv", b"text,label\nhello,a\n,b\nhi,\n  ,a\n",
                                 ["2 rows have no text", "1 has no label", "drop_missing = true"]),
    "one-class": ("tickets.csv", b"text,label\nhello,spam\nbye,spam\n", ["every row has the label 'spam'"]),
    "class-with-one-train-row": ("tickets.csv", ("id,text,label,split\n" + GOOD_ROWS + "99,lonely,c,train\n").encode(),
                                 ["label 'c' has only 1 train row"]),
    "class-only-in-test": ("tickets.csv", ("id,text,label,split\n" + GOOD_ROWS + "98,x,c,test\n99,y,c,test\n").encode(),
                           ["label 'c' is only in test rows"]),
    "duplicate-ids": ("tickets.csv", ("id,text,label,split\n" + GOOD_ROWS + "3,again,a,train\n").encode(),
                      ["1 id appears more than once", "'3'"]),
    "unknown-split": ("tickets.csv", ("id,text,label,split\n" + GOOD_ROWS + "99,x,a,dev\n").encode(),
                      ["unknown split value 'dev'"]),
    "unknown-format": ("tickets.xlsx", b"PK\x03\x04", ["unknown data format"]),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_DATA)
def test_a_bad_data_file(build_with_database, tmp_path, case):
    name, content, words = BAD_DATA[case]
    data = tmp_path / name
    data.write_bytes(content)
    run_bad(build_with_database, data, *words)


def test_a_file_in_another_encoding_reads_with_the_encoding_setting(build_with_database, tmp_path):
    data = tmp_path / "tickets.csv"
    data.write_bytes(("text,label\n" + "".join(f"Très bien {i},{'ab'[i % 2]}\n" for i in range(20))).encode("cp1252"))
    config = tmp_path / "encoding.toml"
    config.write_text('[data]\nencoding = "cp1252"\n')
    result = make(build_with_database, str(build_with_database / "texts.parquet"), data=data, config=config)
    assert result.returncode == 0, result.stderr[-2000:]
    texts = pd.read_parquet(build_with_database / "texts.parquet")["text"]
    assert texts.str.startswith("Très bien").all()


def test_a_model_without_settings(build_with_database, tarball, tmp_path):
    config = tmp_path / "models.toml"
    config.write_text('models = ["dense", "small"]\n')
    before = (build_with_database / "reviewlens.duckdb").read_bytes()
    result = make(build_with_database, "all", data=tarball, config=config)
    line = assert_fails_cleanly(result, build_with_database, before, str(config), "model 'small' has no settings table")
    assert "architecture = 'dense' or 'cnn'" in line
