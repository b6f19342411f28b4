"""What the tests look for in a rendered report: the leaderboards' rows and the charts, read from HTML
(the renderer's output or the DOM Chromium serialized) with the standard library's parser."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"meta", "input", "br", "img", "link", "col", "hr", "wbr"}


@dataclass
class Row:
    css: str
    header: str = ""
    cells: int = 0
    svgs: int = 0
    svg_titles: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)


@dataclass
class Board:
    rows: list[Row] = field(default_factory=list)
    head_text: list[str] = field(default_factory=list)


@dataclass
class Summary:
    boards: list[Board] = field(default_factory=list)
    chart_titles: list[str] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    """src/href values that would need the network."""
    scripts: int = 0


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.summary = Summary()
        self.board: Board | None = None
        self.row: Row | None = None
        self.in_tbody = self.in_thead = self.in_th = self.in_title = self.in_heading = False
        self.chart_depth = 0
        self.title_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        css = a.get("class", "").split()
        for key in ("src", "href"):
            if key in a and not a[key].startswith(("#", "data:")):
                self.summary.external.append(a[key])
        if tag == "script":
            self.summary.scripts += 1
        elif tag == "table" and "board" in css:
            self.board = Board()
            self.summary.boards.append(self.board)
        elif tag in ("tbody", "thead") and self.board is not None:
            self.in_tbody, self.in_thead = tag == "tbody", tag == "thead"
        elif tag == "tr" and self.board is not None and self.in_tbody:
            self.row = Row(" ".join(css))
            self.board.rows.append(self.row)
        elif tag in ("td", "th") and self.row is not None:
            self.row.cells += 1
            self.in_th = tag == "th"
        elif tag == "svg":
            if "chart" in css:
                self.chart_depth = 1
            elif self.row is not None:
                self.row.svgs += 1
        elif tag == "title" and (self.chart_depth or self.row is not None):
            self.in_title, self.title_text = True, []
        elif tag in ("h1", "h2", "h3", "h4"):
            self.in_heading, self.title_text = True, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.board, self.row, self.in_tbody = None, None, False
        elif tag in ("tbody", "thead"):
            self.in_tbody = self.in_thead = False
            self.row = None
        elif tag in ("td", "th"):
            self.in_th = False
        elif tag == "title" and self.in_title:
            self.in_title = False
            text = "".join(self.title_text).strip()
            if self.chart_depth:
                self.summary.chart_titles.append(text)
            elif self.row is not None:
                self.row.svg_titles.append(text)
        elif tag == "svg" and self.chart_depth:
            self.chart_depth = 0
        elif tag in ("h1", "h2", "h3", "h4") and self.in_heading:
            self.in_heading = False
            self.summary.headings.append("".join(self.title_text).strip())

    def handle_data(self, data: str) -> None:
        if self.in_title or self.in_heading:
            self.title_text.append(data)
        elif self.row is not None:
            self.row.text.append(data)
            if self.in_th and not self.row.header:
                self.row.header = data.strip()
        elif self.board is not None and self.in_thead:
            self.board.head_text.append(data)


def summarize(html: str) -> Summary:
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return parser.summary
