"""Reader for PDS3 fixed-width ASCII index tables (HiRISE ``RDRCUMINDEX.TAB`` + its ``.LBL``).

Use :func:`read_index_label` to learn the column layout (NAME, START_BYTE, BYTES, DATA_TYPE) from
the label with ``pvl`` — nothing about HiRISE's 54 columns is hard-coded — and :func:`iter_rows` to
stream rows as dicts of only the columns you ask for: the full index is ~160 MB and ~100k rows.
Rows may end in CRLF (the archive) or LF (excerpts); columns are sliced from each line, so both work.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from areoscan.errors import DataError

_NUMERIC_INT = {"ASCII_INTEGER", "INTEGER", "MSB_INTEGER", "LSB_INTEGER"}
_NUMERIC_REAL = {"ASCII_REAL", "REAL", "FLOAT"}


@dataclass(frozen=True)
class Column:
    """One column of a fixed-width table: 1-based START_BYTE and BYTES, as in the label."""

    name: str
    data_type: str
    start_byte: int
    nbytes: int

    def parse(self, line: str) -> Any:
        """The value of this column in ``line``: str, int, float, or None when blank."""
        text = line[self.start_byte - 1 : self.start_byte - 1 + self.nbytes].strip().strip('"')
        text = text.strip()
        if not text:
            return None
        if self.data_type in _NUMERIC_INT:
            try:
                return int(text)
            except ValueError:
                return None
        if self.data_type in _NUMERIC_REAL:
            try:
                return float(text)
            except ValueError:
                return None
        return text


@dataclass(frozen=True)
class IndexLayout:
    """The table described by an index label: file name, row length and columns by name."""

    label_path: Path
    table_file: str | None
    row_bytes: int
    rows: int | None
    columns: dict[str, Column]

    def require(self, names: Iterable[str]) -> list[Column]:
        """Columns for ``names``, or DataError naming the first one the label lacks."""
        out = []
        for name in names:
            if name not in self.columns:
                raise DataError(
                    f"{self.label_path}: index has no column {name!r}; is this an RDR cumulative index?"
                )
            out.append(self.columns[name])
        return out


def _find_table(label: Any) -> tuple[str | None, Any]:
    """Return (table file pointer, table object) for the first OBJECT holding COLUMN objects."""
    for key, value in label.items():
        if hasattr(value, "getall") and "COLUMN" in value:
            pointer = label.get(f"^{key}")
            if isinstance(pointer, list | tuple):
                pointer = pointer[0]
            return (str(pointer) if pointer is not None else None), value
    raise DataError("no table OBJECT with COLUMN objects found in the index label")


def read_index_label(label_path: str | Path) -> IndexLayout:
    """Parse an index ``.LBL`` (PDS3) into an :class:`IndexLayout`; DataError if malformed."""
    import pvl

    path = Path(label_path)
    try:
        label = pvl.load(str(path))
    except FileNotFoundError as exc:
        raise DataError(
            f"{path}: index label not found; give the .TAB with its .LBL beside it"
        ) from exc
    except Exception as exc:  # pvl raises several parser exception types
        raise DataError(
            f"{path}: cannot parse index label ({exc.__class__.__name__}: {exc})"
        ) from exc
    try:
        table_file, table = _find_table(label)
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from None
    columns: dict[str, Column] = {}
    for col in table.getall("COLUMN"):
        try:
            name = str(col["NAME"]).strip()
            column = Column(
                name=name,
                data_type=str(col.get("DATA_TYPE", "CHARACTER")).strip().upper(),
                start_byte=int(col["START_BYTE"]),
                nbytes=int(col["BYTES"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{path}: a COLUMN lacks NAME/START_BYTE/BYTES ({exc})") from None
        if column.start_byte < 1 or column.nbytes < 1:
            raise DataError(f"{path}: column {name} has START_BYTE/BYTES out of range")
        columns[name] = column
    row_bytes = table.get("ROW_BYTES", label.get("RECORD_BYTES"))
    if row_bytes is None:
        raise DataError(f"{path}: index label has neither ROW_BYTES nor RECORD_BYTES")
    rows = table.get("ROWS")
    return IndexLayout(path, table_file, int(row_bytes), int(rows) if rows else None, columns)


def find_label_for_table(table_path: str | Path) -> Path:
    """The ``.LBL`` beside a ``.TAB`` (case-insensitive suffix), or DataError."""
    path = Path(table_path)
    for suffix in (".LBL", ".lbl"):
        candidate = path.with_suffix(suffix)
        if candidate.exists():
            return candidate
    raise DataError(f"{path}: no label {path.with_suffix('.LBL').name} beside the index table")


def iter_rows(
    table_path: str | Path, layout: IndexLayout, names: Iterable[str]
) -> Iterator[dict[str, Any]]:
    """Yield one dict per table row holding only ``names`` (parsed by DATA_TYPE).

    Short lines (a truncated last row) raise DataError naming the line number.
    """
    columns = layout.require(list(names))
    needed = max(c.start_byte - 1 + c.nbytes for c in columns)
    path = Path(table_path)
    with path.open("r", encoding="ascii", errors="replace", newline="") as fh:
        for number, raw in enumerate(fh, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                continue
            if len(line) < needed:
                raise DataError(
                    f"{path}: row {number} has {len(line)} bytes, the label needs {needed}; "
                    "is the table truncated or is the label for another table?"
                )
            yield {c.name: c.parse(line) for c in columns}
