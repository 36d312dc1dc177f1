"""Vetting: people's yes / no / maybe verdicts on survey candidates, and what they say of the ranking.

Use :func:`vet` (the ``areoscan vet DIR VERDICTS.csv`` verb) to store a verdicts CSV — columns
``observation,region,verdict,note``, as downloaded from the report page — in the survey catalogue,
and :func:`summarise` (the report does) for the precision of the ranking at k and the candidates to
vet next. A file is validated whole before anything is written: the first bad row is named with its
line number and the catalogue is left untouched. Storing the same file twice changes nothing; a
later file overrides an earlier verdict on the same candidate. A row with an empty verdict is
skipped (so the report's ``to_vet.csv`` can be filled in a spreadsheet and fed back as is).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from areoscan.errors import DataError
from areoscan.survey.catalogue import Catalogue

VERDICTS = ("yes", "no", "maybe")
VERDICT_COLUMNS = ("observation", "region", "verdict", "note")
PRECISION_KS = (10, 20, 50)


@dataclass(frozen=True)
class Verdict:
    """One person's verdict on one candidate (``region`` = the region's id in the catalogue)."""

    observation_id: str
    region_id: int
    verdict: str
    note: str = ""
    line: int = field(default=0, compare=False)  # where it came from in its CSV (0: not a file)


@dataclass(frozen=True)
class VetResult:
    """What :func:`vet` did: new verdicts, changed ones, identical ones, rows without a verdict."""

    added: int
    changed: int
    unchanged: int
    skipped: int

    def describe(self) -> str:
        """One line for the terminal."""
        text = f"{self.added} new, {self.changed} changed, {self.unchanged} unchanged verdicts"
        return text + (f"; {self.skipped} rows without a verdict skipped" if self.skipped else "")


def read_verdicts(path: str | Path) -> tuple[list[Verdict], int]:
    """Parse and check a verdicts CSV; return its verdicts and how many rows had none.

    Raises DataError naming the file and line of the first bad row: a missing column, an empty
    observation, a region that is not a whole number, a verdict other than yes / no / maybe, or a
    candidate given twice.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"{path}: verdicts file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the verdicts file ({exc})") from None
    reader = csv.DictReader(text.splitlines(keepends=True))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in VERDICT_COLUMNS[:3] if c not in header]
    if missing:
        raise DataError(
            f"{path} line 1: the header lacks {', '.join(missing)} "
            f"(columns: {','.join(VERDICT_COLUMNS)})"
        )
    reader.fieldnames = header
    out: list[Verdict] = []
    seen: dict[tuple[str, int], int] = {}
    skipped = 0
    for row in reader:
        line = reader.line_num
        values = {k: (row.get(k) or "").strip() for k in VERDICT_COLUMNS}
        if not any(values.values()):
            continue  # a blank line
        where = f"{path} line {line}"
        if None in row:
            raise DataError(f"{where}: more fields than the header's {len(header)}")
        if not values["observation"]:
            raise DataError(f"{where}: no observation")
        try:
            region = int(values["region"])
        except ValueError:
            raise DataError(f"{where}: region {values['region']!r} is not a region id") from None
        verdict = values["verdict"].lower()
        if not verdict:
            skipped += 1
            continue
        if verdict not in VERDICTS:
            raise DataError(f"{where}: verdict {values['verdict']!r} is not yes, no or maybe")
        key = (values["observation"], region)
        if key in seen:
            raise DataError(
                f"{where}: {key[0]} region {region} already has a verdict on line {seen[key]}"
            )
        seen[key] = line
        out.append(Verdict(key[0], region, verdict, values["note"], line))
    return out, skipped


def store_verdicts(cat: Catalogue, verdicts: Sequence[Verdict], source: str = "") -> VetResult:
    """Upsert verdicts in one transaction; identical ones are left alone (their time too)."""
    added = changed = unchanged = 0
    now = time.time()
    with cat.transaction() as conn:
        existing = {
            (r[0], r[1]): (r[2], r[3])
            for r in conn.execute("SELECT observation_id, region_id, verdict, note FROM verdicts")
        }
        for v in verdicts:
            old = existing.get((v.observation_id, v.region_id))
            if old == (v.verdict, v.note):
                unchanged += 1
                continue
            added, changed = (added + 1, changed) if old is None else (added, changed + 1)
            conn.execute(
                "INSERT INTO verdicts (observation_id, region_id, verdict, note, vetted_at, source)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (observation_id, region_id) DO UPDATE SET"
                " verdict=excluded.verdict, note=excluded.note, vetted_at=excluded.vetted_at,"
                " source=excluded.source",
                (v.observation_id, v.region_id, v.verdict, v.note, now, source),
            )
    return VetResult(added, changed, unchanged, 0)


def load_verdicts(cat: Catalogue) -> dict[tuple[str, int], dict[str, Any]]:
    """Every stored verdict by (observation, region): verdict, note, vetted_at, source."""
    rows = cat.conn.execute("SELECT * FROM verdicts ORDER BY observation_id, region_id")
    return {(r["observation_id"], r["region_id"]): dict(r) for r in rows}


def vet(survey_dir: str | Path, verdicts_csv: str | Path) -> VetResult:
    """Check a verdicts CSV against a survey's catalogue and store it (the ``vet`` verb).

    Every row must name a candidate the catalogue holds; otherwise nothing is written. The survey
    may be running meanwhile: this takes no folder lock, only a short SQLite transaction.
    """
    verdicts, skipped = read_verdicts(verdicts_csv)
    with Catalogue(survey_dir, lock=False, create=False) as cat:
        known = {
            (r[0], r[1]) for r in cat.conn.execute("SELECT observation_id, region_id FROM regions")
        }
        observations = {r[0] for r in cat.conn.execute("SELECT observation_id FROM images")}
        for v in verdicts:
            if (v.observation_id, v.region_id) in known:
                continue
            where = f"{verdicts_csv} line {v.line}"
            if v.observation_id not in observations:
                raise DataError(f"{where}: observation {v.observation_id} is not in this survey")
            raise DataError(f"{where}: {v.observation_id} has no region {v.region_id}")
        result = store_verdicts(cat, verdicts, source=str(verdicts_csv))
    return VetResult(result.added, result.changed, result.unchanged, skipped)


def attach_verdicts(
    ranked: list[dict[str, Any]], verdicts: dict[tuple[str, int], dict[str, Any]]
) -> list[dict[str, Any]]:
    """Add ``verdict`` and ``note`` ('' when unvetted) to each ranked candidate, in place."""
    for d in ranked:
        v = verdicts.get((d["observation_id"], int(d["region_id"])))
        d["verdict"] = v["verdict"] if v else ""
        d["note"] = v["note"] if v else ""
    return ranked


@dataclass(frozen=True)
class PrecisionAtK:
    """Precision of the ranking over its k best-ranked vetted candidates.

    precision: yes / k (maybe counts as not yes); with_maybe: (yes + maybe) / k. Both None when
    fewer than k candidates are vetted (k = 0 stands for "all vetted").
    """

    k: int
    vetted: int
    yes: int
    maybe: int
    precision: float | None
    with_maybe: float | None


@dataclass(frozen=True)
class VettingSummary:
    """Vetting state of a ranked survey: counts, precision at k, the candidates to vet next."""

    candidates: int
    counts: dict[str, int]
    precision: list[PrecisionAtK]
    next_to_vet: list[dict[str, Any]]
    stale: int  # verdicts on regions the catalogue no longer holds (a re-scan renumbered them)

    @property
    def vetted(self) -> int:
        return sum(self.counts.values())


def precision_at(ranked_vetted: Sequence[str], k: int) -> PrecisionAtK:
    """Precision over the first k verdicts of best-ranked vetted candidates (k = 0: all)."""
    n = len(ranked_vetted) if k == 0 else k
    head = list(ranked_vetted[:n])
    yes, maybe = head.count("yes"), head.count("maybe")
    if len(head) < n or n == 0:
        return PrecisionAtK(k, len(ranked_vetted), yes, maybe, None, None)
    return PrecisionAtK(k, len(ranked_vetted), yes, maybe, yes / n, (yes + maybe) / n)


def summarise(
    ranked: list[dict[str, Any]],
    verdicts: dict[tuple[str, int], dict[str, Any]],
    *,
    ks: Sequence[int] = PRECISION_KS,
    next_n: int = 20,
) -> VettingSummary:
    """Vetting summary of candidates already ranked and carrying ``verdict`` (attach_verdicts)."""
    in_order = [d["verdict"] for d in ranked if d.get("verdict")]
    counts = {v: in_order.count(v) for v in VERDICTS}
    keys = {(d["observation_id"], int(d["region_id"])) for d in ranked}
    stale = sum(1 for key in verdicts if key not in keys)
    precision = [precision_at(in_order, k) for k in (*ks, 0)]
    todo = [d for d in ranked if not d.get("verdict")][:next_n]
    return VettingSummary(len(ranked), counts, precision, todo, stale)
