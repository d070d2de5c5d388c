"""The viewer's pages, in the order of the navigation: the one list that the app, the tests and the benchmarks
follow. Each page is a file of views/ and has an address of its own (`/samples`); the first is the default, at `/`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

VIEWS = Path(__file__).resolve().parent / "views"


@dataclass(frozen=True)
class Page:
    name: str  # its file in views/, and its address
    title: str  # in the navigation, and the page's heading

    @property
    def file(self) -> Path:
        return VIEWS / f"{self.name}.py"

    @property
    def address(self) -> str:
        """Its path after the viewer's address: empty for the default page."""
        return "" if self is PAGES[0] else self.name


PAGES = (
    Page("overview", "Overview"),
    Page("samples", "Samples"),
    Page("failures", "Failures"),
    Page("population", "Population"),
    Page("clusters", "Clusters"),
    Page("dashboard", "Dashboard"),
    Page("insights", "Insights"),
    Page("data_maps", "Data maps"),
    Page("behaviour", "Behaviour"),
    Page("compare", "Compare"),
    Page("console", "SQL console"),
)
# The page a text opens on: the lists' links and the maps' clicks go there.
TEXT_PAGE = next(page for page in PAGES if page.name == "samples")
