import csv
import sqlite3
from pathlib import Path

import pytest

from areoscan.cli import main
from areoscan.errors import DataError
from areoscan.survey.catalogue import Catalogue
from areoscan.survey.catalogueschema import SCHEMA_VERSION
from areoscan.survey.report import write_report
from areoscan.survey.vetting import load_verdicts, precision_at, read_verdicts, summarise, vet

from .surveydata import make_survey

A, B = "ESP_011200_2200", "ESP_011201_2200"  # ranked B1 (3600), A1 (3000), A2 (950)
HEADER = "observation,region,verdict,note\n"


def _csv(tmp_path: Path, body: str, name: str = "verdicts.csv") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def _rows(folder: Path) -> list[tuple]:
    with sqlite3.connect(folder / "catalogue.sqlite") as conn:
        return conn.execute("SELECT * FROM verdicts ORDER BY observation_id, region_id").fetchall()


def test_vet_stores_and_is_idempotent(tmp_path: Path):
    survey = make_survey(tmp_path)
    note = 'polygonal troughs, "not coral", see HiView'
    quoted = '"' + note.replace('"', '""') + '"'
    path = _csv(tmp_path, HEADER + f"{B},1,yes,\n{A},2,No,{quoted}\n")
    first = vet(survey, path)
    assert (first.added, first.changed, first.unchanged) == (2, 0, 0)
    stored = _rows(survey)
    assert [(r[0], r[1], r[2], r[3]) for r in stored] == [(A, 2, "no", note), (B, 1, "yes", "")]
    again = vet(survey, path)
    assert (again.added, again.changed, again.unchanged) == (0, 0, 2)
    assert _rows(survey) == stored  # nothing rewritten, not even the time
    later = vet(survey, _csv(tmp_path, HEADER + f"{A},2,maybe,{note[:10]}\n", "later.csv"))
    assert (later.added, later.changed, later.unchanged) == (0, 1, 0)
    with Catalogue(survey, lock=False, create=False) as cat:
        verdicts = load_verdicts(cat)
    assert verdicts[(A, 2)]["verdict"] == "maybe" and verdicts[(B, 1)]["verdict"] == "yes"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("observation,verdict\nX,yes\n", "line 1: the header lacks region"),
        (HEADER + f"{B},1,yes,\n{A},one,no,\n", "line 3: region 'one' is not a region id"),
        (HEADER + f"{B},1,perhaps,\n", "line 2: verdict 'perhaps' is not yes, no or maybe"),
        (HEADER + f"\n{B},1,yes,\n{B},1,no,\n", "line 4: .* already has a verdict on line 3"),
        (HEADER + ",1,yes,\n", "line 2: no observation"),
        (HEADER + f"{B},1,yes,ok,extra\n", "line 2: more fields"),
        (HEADER + f"{B},1,yes,\n{A},7,no,\n", f"line 3: {A} has no region 7"),
        (HEADER + f'{B},1,yes,"two\nlines"\nESP_9,1,no,\n', "line 4: observation ESP_9 is not"),
    ],
)
def test_a_bad_row_is_named_and_nothing_is_written(tmp_path: Path, body: str, message: str):
    survey = make_survey(tmp_path)
    with pytest.raises(DataError, match=message):
        vet(survey, _csv(tmp_path, body))
    assert _rows(survey) == []


def test_blank_verdicts_are_skipped_and_missing_file(tmp_path: Path):
    verdicts, skipped = read_verdicts(_csv(tmp_path, "\ufeff" + HEADER + f"{A},1,,\n{B},1,YES,\n"))
    assert skipped == 1 and [(v.observation_id, v.verdict, v.line) for v in verdicts] == [
        (B, "yes", 3)
    ]
    with pytest.raises(DataError, match="not found"):
        read_verdicts(tmp_path / "absent.csv")


def test_precision_at_k_over_vetted_candidates():
    in_rank_order = ["yes", "no", "maybe", "yes"] + ["no"] * 8
    p2 = precision_at(in_rank_order, 2)
    assert (p2.yes, p2.maybe, p2.precision, p2.with_maybe) == (1, 0, 0.5, 0.5)
    p10 = precision_at(in_rank_order, 10)
    assert (p10.yes, p10.maybe, p10.precision, p10.with_maybe) == (2, 1, 0.2, 0.3)
    p20 = precision_at(in_rank_order, 20)
    assert p20.precision is None and p20.vetted == 12 and p20.yes == 2
    everything = precision_at(in_rank_order, 0)
    assert everything.precision == pytest.approx(2 / 12)
    assert precision_at([], 0).precision is None


def test_summary_skips_unvetted_and_counts_stale():
    ranked = [
        {"observation_id": "X", "region_id": i, "rank": i, "verdict": v}
        for i, v in enumerate(["", "yes", "", "no", ""], start=1)
    ]
    verdicts = {("X", 2): {}, ("X", 4): {}, ("Y", 1): {}}
    s = summarise(ranked, verdicts, ks=(1, 2), next_n=2)
    assert s.counts == {"yes": 1, "no": 1, "maybe": 0} and s.vetted == 2 and s.stale == 1
    assert [p.precision for p in s.precision] == [1.0, 0.5, 0.5]
    assert [d["region_id"] for d in s.next_to_vet] == [1, 3]


def test_report_shows_verdicts_and_to_vet_round_trips(tmp_path: Path):
    survey = make_survey(tmp_path)
    vet(survey, _csv(tmp_path, HEADER + f"{A},1,no,<b>dunes</b>\n"))
    paths = write_report(survey)
    rows = list(csv.DictReader(paths.candidates_csv.open()))
    assert [(r["observation_id"], r["verdict"]) for r in rows] == [(B, ""), (A, "no"), (A, "")]
    assert rows[1]["note"] == "<b>dunes</b>"
    page = paths.static_html.read_text()
    assert "vetted: <b>1</b> of 3" in page and "&lt;b&gt;dunes" in page
    todo = list(csv.DictReader(paths.to_vet_csv.open()))
    assert [(r["observation"], r["region"], r["rank"]) for r in todo] == [
        (B, "1", "1"),
        (A, "2", "3"),
    ]
    # the to-vet list, filled in a spreadsheet, goes straight back into `areoscan vet`
    filled = paths.to_vet_csv.read_text().replace(f"{B},1,,", f"{B},1,yes,", 1)
    result = vet(survey, _csv(tmp_path, filled, "filled.csv"))
    assert (result.added, result.skipped) == (1, 1)
    page = write_report(survey).static_html.read_text()
    assert "vetted: <b>2</b> of 3" in page and "<td>50%</td>" in page  # all vetted: 1 yes of 2


def test_old_catalogue_is_migrated(tmp_path: Path):
    survey = make_survey(tmp_path)
    with sqlite3.connect(survey / "catalogue.sqlite") as conn:  # what schema 1 wrote
        conn.execute("DROP TABLE verdicts")
        conn.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    vet(survey, _csv(tmp_path, HEADER + f"{B},1,maybe,\n"))
    with Catalogue(survey, lock=False, create=False) as cat:
        assert cat.conn.execute("SELECT value FROM meta").fetchone()[0] == str(SCHEMA_VERSION)
        assert len(cat.regions()) == 3 and len(load_verdicts(cat)) == 1
    with sqlite3.connect(survey / "catalogue.sqlite") as conn:
        conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(DataError, match="schema 99"):
        Catalogue(survey, lock=False, create=False)


def test_vet_verb(tmp_path: Path, capsys):
    survey = make_survey(tmp_path)
    good = _csv(tmp_path, HEADER + f"{B},1,yes,\n")
    assert main(["vet", str(survey), str(good)]) == 0
    assert "1 new, 0 changed, 0 unchanged verdicts" in capsys.readouterr().out
    bad = _csv(tmp_path, HEADER + f"{B},1,yes,\n{A},1,nope,\n", "bad.csv")
    assert main(["vet", str(survey), str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.csv line 3" in err[0] and "Traceback" not in err[0]
    assert main(["vet", str(tmp_path / "none"), str(good)]) == 2
