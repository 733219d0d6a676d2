"""The shared CSV reader: header checks, typed cells, every bad line reported by number."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.imports import IMPORT_KINDS, ImportRejected
from core.imports._csv import MAX_REPORTED, read_rows

SPEND = IMPORT_KINDS["spend"]
SURVEYS = IMPORT_KINDS["surveys"]


def _spend(text: str) -> list[dict[str, object]]:
    return [r.values for r in read_rows("spend", text, SPEND.columns, SPEND.key)]


def _rejected(text: str, kind: str = "spend") -> ImportRejected:
    spec = IMPORT_KINDS[kind]
    with pytest.raises(ImportRejected) as caught:
        read_rows(kind, text, spec.columns, spec.key, spec.check)
    return caught.value


def test_reads_typed_rows_with_defaults_and_any_header_case() -> None:
    rows = _spend("\ufeffDay,Amount,Channel\n2026-03-01,1200.5,ads\n2026-03-02,0,\n")
    assert rows == [
        {
            "day": rows[0]["day"],
            "kind": "MARKETING",
            "channel": "ads",
            "campaign": "",
            "amount": Decimal("1200.5000"),
            "currency": None,
        },
        {
            "day": rows[1]["day"],
            "kind": "MARKETING",
            "channel": "",
            "campaign": "",
            "amount": Decimal("0.0000"),
            "currency": None,
        },
    ]
    assert [str(r["day"]) for r in rows] == ["2026-03-01", "2026-03-02"]


def test_every_bad_line_is_reported_with_its_number_and_reason() -> None:
    text = (
        "day,kind,amount,currency\n"
        "2026-03-01,marketing,10,eur\n"
        "2026-13-01,MARKETING,10,EUR\n"  # line 3: bad date
        "\n"
        "2026-03-02,PR,10,EUR\n"  # line 5: bad kind
        "2026-03-03,SALES,-4,EUR\n"  # line 6: negative
        "2026-03-04,SALES,1 000,EUR\n"  # line 7: not a number
        "2026-03-05,SALES,,EUR\n"  # line 8: missing amount
        "2026-03-06,SALES,5,EURO\n"  # line 9: bad currency
        "2026-03-01,MARKETING,11,EUR\n"  # line 10: duplicate of line 2
        "2026-03-07,SALES,5,EUR,extra\n"  # line 11: too many values
    )
    error = _rejected(text)
    lines = {e.line: e.reason for e in error.errors}
    assert sorted(lines) == [3, 5, 6, 7, 8, 9, 10, 11]
    assert "day" in lines[3] and "YYYY-MM-DD" in lines[3]
    assert "'PR' is not one of MARKETING, SALES" in lines[5]
    assert "amount" in lines[6] and "between 0" in lines[6]
    assert "not a number" in lines[7]
    assert lines[8] == "amount is required"
    assert "EURO" in lines[9]
    assert "line 2" in lines[10]
    assert "5 values for 4 columns" in lines[11]
    assert error.total == 8 and "nothing imported" in str(error)


def test_quoted_cells_over_several_lines_keep_the_numbering() -> None:
    text = 'day,campaign,amount\n2026-03-01,"spring\nlaunch",10\n2026-03-02,x,oops\n'
    error = _rejected(text)
    assert [(e.line, e.reason.split(":")[0]) for e in error.errors] == [(4, "amount")]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("day,amount\n", "no data rows"),
        ("day,amout\n2026-03-01,1\n", "unknown column 'amout'"),
        ("day,channel\n2026-03-01,x\n", "missing column 'amount'"),
        ("day,amount,day\n2026-03-01,1,2026-03-01\n", "'day' appears twice"),
    ],
)
def test_file_level_problems(text: str, reason: str) -> None:
    error = _rejected(text)
    assert len(error.errors) == 1 and reason in error.errors[0].reason


def test_survey_scores_are_checked_against_their_scale() -> None:
    text = (
        "id,kind,responded_at,score\n"
        "a,NPS,2026-03-01T10:00:00Z,0\n"
        "b,CSAT,2026-03-01,0\n"
        "c,CSAT,2026-03-01,6\n"
        "d,NPS,2026-03-01,11\n"
        "a,CSAT,2026-03-01,5\n"  # same id, other kind: a different response
    )
    error = _rejected(text, "surveys")
    reasons = {e.line: e.reason for e in error.errors}
    assert sorted(reasons) == [3, 4, 5]
    assert "CSAT scale 1-5" in reasons[3] and "CSAT scale 1-5" in reasons[4]
    assert "above 10" in reasons[5]


def test_only_the_first_errors_are_listed_but_all_are_counted() -> None:
    bad = "".join(f"2026-03-01,x{i},oops\n" for i in range(MAX_REPORTED + 7))
    error = _rejected("day,channel,amount\n" + bad)
    assert len(error.errors) == MAX_REPORTED and error.total == MAX_REPORTED + 7
    assert f"and {MAX_REPORTED + 2} more" in str(error)
