"""Write a small PDS3 cumulative index (.TAB + .LBL) in the layout of HiRISE's RDRCUMINDEX.

The column order differs from the real index on purpose: the reader must use the label's
START_BYTE / BYTES, not positions it knows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# (name, PDS data type, bytes, python format for numbers)
COLUMNS: list[tuple[str, str, int, str]] = [
    ("VOLUME_ID", "CHARACTER", 10, ""),
    ("MAP_SCALE", "ASCII_REAL", 5, "{:5.2f}"),
    ("FILE_NAME_SPECIFICATION", "CHARACTER", 67, ""),
    ("OBSERVATION_ID", "CHARACTER", 15, ""),
    ("PRODUCT_ID", "CHARACTER", 21, ""),
    ("IMAGE_LINES", "ASCII_INTEGER", 6, "{:6d}"),
    ("LINE_SAMPLES", "ASCII_INTEGER", 6, "{:6d}"),
    ("MINIMUM_LATITUDE", "ASCII_REAL", 10, "{:10.4f}"),
    ("MAXIMUM_LATITUDE", "ASCII_REAL", 10, "{:10.4f}"),
    ("MINIMUM_LONGITUDE", "ASCII_REAL", 10, "{:10.4f}"),
    ("MAXIMUM_LONGITUDE", "ASCII_REAL", 10, "{:10.4f}"),
    ("MAP_PROJECTION_TYPE", "CHARACTER", 19, ""),
]


def _layout() -> tuple[list[tuple[str, str, int, str, int]], int]:
    """Columns with 1-based START_BYTE (inside the quotes for CHARACTER) and the row length."""
    out, pos = [], 1
    for name, kind, nbytes, fmt in COLUMNS:
        if kind == "CHARACTER":
            out.append((name, kind, nbytes, fmt, pos + 1))
            pos += nbytes + 3  # quotes and comma
        else:
            out.append((name, kind, nbytes, fmt, pos))
            pos += nbytes + 1
    return out, pos  # (pos - 1) bytes of columns and commas, minus the last comma, plus CRLF


def row_text(values: dict[str, Any]) -> str:
    """One fixed-width row (without the line end)."""
    cols, _ = _layout()
    parts = []
    for name, kind, nbytes, fmt, _start in cols:
        value = values.get(name)
        if kind == "CHARACTER":
            parts.append('"' + str(value or "").ljust(nbytes)[:nbytes] + '"')
        else:
            parts.append(" " * nbytes if value is None else fmt.format(value))
    return ",".join(parts)


def label_text(rows: int, table_name: str = "RDRCUMINDEX.TAB") -> str:
    """The PDS3 label describing the table."""
    cols, row_bytes = _layout()
    lines = [
        "PDS_VERSION_ID = PDS3",
        "RECORD_TYPE = FIXED_LENGTH",
        f"RECORD_BYTES = {row_bytes}",
        f"FILE_RECORDS = {rows}",
        f'^RDR_INDEX_TABLE = "{table_name}"',
        "OBJECT = RDR_INDEX_TABLE",
        "    INTERCHANGE_FORMAT = ASCII",
        f"    ROWS = {rows}",
        f"    ROW_BYTES = {row_bytes}",
        f"    COLUMNS = {len(cols)}",
    ]
    for name, kind, nbytes, _fmt, start in cols:
        lines += [
            "    OBJECT = COLUMN",
            f"        NAME = {name}",
            f"        DATA_TYPE = {kind}",
            f"        START_BYTE = {start}",
            f"        BYTES = {nbytes}",
            f'        DESCRIPTION = "test column {name}"',
            "    END_OBJECT = COLUMN",
        ]
    lines += ["END_OBJECT = RDR_INDEX_TABLE", "END", ""]
    return "\r\n".join(lines)


def write_index(folder: Path, products: list[dict[str, Any]], name: str = "RDRCUMINDEX") -> Path:
    """Write NAME.TAB + NAME.LBL into folder; return the .TAB path.

    products: dicts with at least FILE_NAME_SPECIFICATION; PRODUCT_ID / OBSERVATION_ID are derived.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for p in products:
        values = {"VOLUME_ID": "MROHR_0001", "MAP_PROJECTION_TYPE": "EQUIRECTANGULAR"} | p
        stem = Path(values["FILE_NAME_SPECIFICATION"]).stem
        values.setdefault("PRODUCT_ID", stem)
        values.setdefault("OBSERVATION_ID", stem[:15])
        rows.append(row_text(values))
    table = folder / f"{name}.TAB"
    table.write_bytes(("".join(r + "\r\n" for r in rows)).encode("ascii"))
    (folder / f"{name}.LBL").write_text(label_text(len(rows), table.name), newline="")
    return table
