"""CSV cells a spreadsheet will not run: OWASP's CSV-injection rule, in one place for every CSV we write.

Excel, LibreOffice and Google Sheets read a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab, a
carriage return or a line feed as a formula; a partner named ``=HYPERLINK(...)`` in a CRM would run in
the spreadsheet of whoever opens the export. OWASP's rule (www-community, attacks/CSV_Injection: "ensure
that no cells begin with any of the following characters", remedied by prepending a single quote) is
applied to text cells; ASVS 5.0 requirement 1.2.10 adds the NUL character, so it is in the set too.
Quotes, commas and line breaks inside a cell are the csv module's job (RFC 4180 quoting), with one gap
CsvWriter closes: a carriage return inside a cell.

Only text is guarded: numbers we computed (a change of ``-12.5``) are written as numbers, so that a
spreadsheet or a BI tool still reads them as numbers; they come from our own arithmetic, not from a CRM.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from typing import IO

FORMULA_STARTS = frozenset("=+-@\t\r\n\0")
GUARD = "'"


def guard_cell(text: str) -> str:
    """``text`` as a CSV cell no spreadsheet reads as a formula: a leading ``'`` when it starts with a
    formula character. A text that already starts with quotes before such a character gets one more,
    so that unguard_cell gives back exactly what was guarded."""
    rest = text.lstrip(GUARD)
    return GUARD + text if rest and rest[0] in FORMULA_STARTS else text


def unguard_cell(cell: str) -> str:
    """The text guard_cell was given (a cell without the guard is returned as it is)."""
    rest = cell.lstrip(GUARD)
    if cell.startswith(GUARD) and rest and rest[0] in FORMULA_STARTS:
        return cell[1:]
    return cell


class CsvWriter:
    """csv.writer with ``\n`` line ends that also quotes a row holding a carriage return: Python's csv
    quotes only the characters of its lineterminator, so a name with a bare CR would end the row for
    every reader (and start the next cell at the beginning of a line)."""

    def __init__(self, out: IO[str]) -> None:
        self._minimal = csv.writer(out, lineterminator="\n")
        self._quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)

    def writerow(self, cells: Sequence[str]) -> None:
        (self._quoted if any("\r" in c for c in cells) else self._minimal).writerow(cells)
