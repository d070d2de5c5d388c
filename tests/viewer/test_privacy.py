"""Private by default: the viewer listens on this machine only, and an uploaded database is kept only as long as the
browser session that uploaded it, within a cap on the total size kept."""

from __future__ import annotations

import ipaddress
import shutil
import stat
import time
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import expect

from bench.serve import viewer
from viewer import uploads

expect.set_options(timeout=30_000)

# Streamlit keeps a disconnected session this long (120 s by default) before it counts as ended.
SESSION_TTL = 2


def listening_addresses(port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The local addresses of the sockets listening on `port`, from the kernel's tables (no traffic sent)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            # Each 32-bit word is in the machine's byte order (little-endian here).
            raw = bytes.fromhex(address)
            raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            found.append(ipaddress.ip_address(raw))
    return found


def is_loopback(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def kept_files(tmp: Path) -> list[Path]:
    return sorted(tmp.glob(f"{uploads.PREFIX}*/*.duckdb"))


def held_open(path: Path) -> bool:
    """Whether any process of this user has `path` open (a DuckDB connection holds its file open)."""
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        try:
            target = fd.readlink()
        except OSError:
            continue
        if str(target).removesuffix(" (deleted)") == str(path):
            return True
    return False


def wait_until(condition, timeout: float) -> float:
    """Seconds until `condition()` held; fails after `timeout`."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, "timed out"
        time.sleep(0.2)
    return time.monotonic() - start


@pytest.fixture(scope="module")
def files(tmp_path_factory, database) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("files")
    colleague = folder / "colleague.duckdb"
    shutil.copy(database, colleague)
    # Another valid database with different content, so that it is not shared with the first as one copy.
    other = folder / "other.duckdb"
    shutil.copy(database, other)
    con = duckdb.connect(str(other))
    con.execute("create table note as select 'another file' as text")
    con.close()
    return {"colleague": colleague, "other": other}


@pytest.fixture(scope="module")
def cap_mb(files) -> str:
    # Room for either file alone, not for both at once.
    largest = max(path.stat().st_size for path in files.values())
    return f"{1.5 * largest / uploads.MB:.2f}"


@pytest.fixture(scope="module")
def tmp(tmp_path_factory) -> Path:
    """The viewer's temporary folder, where it makes its private upload folder."""
    return tmp_path_factory.mktemp("viewer-tmp")


@pytest.fixture(scope="module")
def viewer_url(database, tmp, cap_mb):
    env = {
        "TMPDIR": str(tmp),
        "STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(SESSION_TTL),
        uploads.CAP_ENV: cap_mb,
    }
    with viewer(database, env=env) as url:
        yield url


def open_tab(browser, url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(url)
    page.get_by_role("heading", name="Overview", level=1).wait_for(timeout=30_000)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Database", exact=True).click()
    return context, page, sidebar


def upload(sidebar, path: Path) -> None:
    sidebar.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))


def test_the_viewer_listens_on_this_machine_only(database):
    with viewer(database) as url:
        port = int(url.rsplit(":", 1)[1])
        addresses = listening_addresses(port)
    assert addresses, f"nothing listens on port {port}"
    assert all(is_loopback(address) for address in addresses), addresses


def test_an_upload_is_deleted_when_its_tab_is_closed(browser, viewer_url, tmp, files):
    context, page, sidebar = open_tab(browser, viewer_url)
    upload(sidebar, files["colleague"])
    expect(sidebar.get_by_text("colleague.duckdb · built")).to_be_visible()
    [kept] = kept_files(tmp)
    assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert held_open(kept)

    context.close()
    # Gone once Streamlit has given up on the session: its TTL, plus up to a second for the sweep.
    waited = wait_until(lambda: not kept.exists(), timeout=SESSION_TTL + 20)
    assert waited >= SESSION_TTL - 0.5
    # Its shared DuckDB connection is closed too, so no process keeps the deleted file's data.
    wait_until(lambda: not held_open(kept), timeout=5)
    assert kept.parent.exists()


def test_uploads_past_the_cap_are_refused(browser, viewer_url, tmp, files, database, cap_mb, monkeypatch):
    monkeypatch.setenv(uploads.CAP_ENV, cap_mb)
    first, _, first_sidebar = open_tab(browser, viewer_url)
    upload(first_sidebar, files["colleague"])
    expect(first_sidebar.get_by_text("colleague.duckdb · built")).to_be_visible()

    second, page, sidebar = open_tab(browser, viewer_url)
    upload(sidebar, files["other"])
    expect(sidebar.locator('[data-testid="stAlertContentError"]')).to_have_text(uploads.over_cap())
    # The viewer stays on the file it had, and keeps nothing of the refused one.
    expect(sidebar.get_by_text(f"{database.name} · built")).to_be_visible()
    assert len(kept_files(tmp)) == 1

    # Once the first tab has gone, the next rerun of the second tab opens its file.
    first.close()
    wait_until(lambda: not kept_files(tmp), timeout=SESSION_TTL + 20)
    page.get_by_role("link", name="SQL console").click()
    page.get_by_role("heading", name="SQL console", level=1).wait_for()
    expect(sidebar.get_by_text("other.duckdb · built")).to_be_visible()
    expect(sidebar.locator('[data-testid="stAlertContentError"]')).to_have_count(0)
    assert len(kept_files(tmp)) == 1
    second.close()


def test_uploads_are_removed_when_the_viewer_stops(browser, database, files, tmp_path):
    # A folder left by a viewer that was killed (no process has this id): removed by the next viewer.
    abandoned = tmp_path / f"{uploads.PREFIX}999999999-x"
    abandoned.mkdir()
    (abandoned / "left.duckdb").write_bytes(b"confidential")
    with viewer(database, env={"TMPDIR": str(tmp_path)}) as url:
        context, _, sidebar = open_tab(browser, url)
        upload(sidebar, files["colleague"])
        expect(sidebar.get_by_text("colleague.duckdb · built")).to_be_visible()
        assert len(kept_files(tmp_path)) == 1
        assert not abandoned.exists()
        context.close()
    assert not list(tmp_path.glob(f"{uploads.PREFIX}*"))
