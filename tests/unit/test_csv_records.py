"""CSV records framed line by line (csv_records.py): a bad row costs that row, never the rest of the file."""

from __future__ import annotations

import csv
import io
import random

import pytest

from workflow.preprocess.csv_records import CsvFraming


def framed(data: bytes, **options) -> tuple[CsvFraming, list]:
    framing = CsvFraming(io.BytesIO(data), **options)
    return framing, list(framing.records())


def counts(framing: CsvFraming) -> tuple[int, ...]:
    c = framing.counts
    return c.lines, c.blank_lines, c.header_lines, c.records, c.record_lines


def test_an_unbalanced_quote_on_line_12_of_61_costs_only_that_row():
    """The issue's file: the csv module reads lines 12..61 as one field ("read 11 = written 10 + rejected 1")."""
    rows = ["id,text,label"] + [f"r{i},text {i},pos" for i in range(1, 61)]
    rows[11] = 'r10,"wow and left,pos'
    data = ("\n".join(rows) + "\n").encode()
    assert len(list(csv.reader(io.StringIO(data.decode())))) == 12, "the csv module alone swallows the rest"
    framing, records = framed(data)
    assert framing.header == ["id", "text", "label"]
    assert [record.line for record in records] == list(range(2, 62))
    bad = [record for record in records if record.fields is None]
    assert [(record.line, record.error.split(":")[1].strip().split(" (")[0]) for record in bad] == [(12, "unbalanced quote")]
    assert [record.fields[0] for record in records if record.fields] == [f"r{i}" for i in range(1, 61) if i != 11]
    assert counts(framing) == (61, 0, 1, 60, 60)


def test_a_legal_quoted_field_across_lines_is_one_record():
    data = b'id,text,label\r\na1,"Loved it, truly",pos\r\na2,"Multi\r\n\r\nline ""quoted""\r\nend",neg\r\na3,last,pos'
    framing, records = framed(data)
    assert [(record.line, record.lines, record.fields) for record in records] == [
        (2, 1, ["a1", "Loved it, truly", "pos"]),
        (3, 4, ["a2", 'Multi\r\n\r\nline "quoted"\r\nend', "neg"]),
        (7, 1, ["a3", "last", "pos"]),
    ]
    assert counts(framing) == (7, 0, 1, 3, 6)


def test_a_row_with_another_number_of_fields_is_rejected_not_trimmed_or_padded():
    framing, records = framed(b"id,text,label\na,b,c\na,b,c,surplus\na,b\na,b,c,\n")
    assert [(record.line, record.error) for record in records] == [
        (2, None), (3, "line 3: 4 fields, the header has 3"), (4, "line 4: 2 fields, the header has 3"),
        (5, "line 5: 4 fields, the header has 3")]


def test_after_a_malformed_record_framing_resumes_at_its_next_line():
    """A quote that closes lines later on a malformed record: only the first line is rejected, the lines it joined are framed again."""
    data = b'id,text\na,"opens\nb,fine\nc,"closes" badly\nd,"good"\n'
    framing, records = framed(data)
    assert [(record.line, record.fields) for record in records] == [
        (2, None), (3, ["b", "fine"]), (4, None), (5, ["d", "good"])]
    assert "malformed CSV record" in records[2].error and "unbalanced quote" in records[0].error
    assert counts(framing) == (5, 0, 1, 4, 4)


def test_an_open_quote_is_given_up_on_after_the_line_bound():
    data = b'id,text\na,"open\n' + b"".join(b"x%d,y\n" % i for i in range(10)) + b'z,"w\nq"\n'
    _, records = framed(data, max_record_lines=4)
    assert records[0].fields is None and "4 lines" in records[0].error
    assert [record.fields for record in records[1:11]] == [[f"x{i}", "y"] for i in range(10)]
    assert records[11].fields == ["z", "w\nq"], "a field within the bound still spans lines"


def test_nul_bytes_bad_utf8_blank_lines_and_a_bom():
    data = b'\xef\xbb\xbf\nid,text\n\n  \r\na,b\x00c\nd,caf\xe9\n\t\ne,"x\n\x00y"\nf,g\n'
    framing, records = framed(data)
    assert framing.header == ["id", "text"], "the BOM is not part of the first column's name"
    assert [(record.line, record.fields, record.error) for record in records] == [
        (5, None, "line 5: NUL byte"),
        (6, ["d", "caf\udce9"], None),  # kept as a surrogate: the parser rejects the text as not UTF-8
        (8, None, "line 8: unbalanced quote (no closing quote before the end of the file, a NUL byte or 1000 lines)"),
        (9, None, "line 9: NUL byte"),
        (10, ["f", "g"], None),
    ]
    assert counts(framing) == (10, 4, 1, 5, 5)


def test_a_stray_carriage_return_or_a_bad_header():
    _, records = framed(b"id,text\na,b\rc\n")
    assert records[0].fields is None and "new-line character" in records[0].error
    with pytest.raises(ValueError, match="header"):
        framed(b'id,"text\na,b\n')
    assert framed(b"\n \n") [0].header is None


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_well_formed_files_frame_as_the_csv_module_reads_them(delimiter):
    """On files without damage the fast path and the joined lines agree with csv.reader, row for row."""
    rng = random.Random(7)
    for _ in range(30):
        rows = [["id", "text", "label"]]
        for number in range(rng.randint(0, 20)):
            text = rng.choice(["plain words", f"with{delimiter} the delimiter", 'a "quote" inside', "two\nlines", "", "caf\u00e9 \u00e0 la"])
            rows.append([str(number), text, rng.choice(["pos", "neg", ""])])
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=delimiter, lineterminator=rng.choice(["\n", "\r\n"])).writerows(rows)
        framing, records = framed(buffer.getvalue().encode(), delimiter=delimiter)
        assert [framing.header] + [record.fields for record in records] == rows
        assert all(record.error is None for record in records)
