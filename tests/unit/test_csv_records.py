"""CSV records framed line by line (csv_records.py): a bad row costs that row, never the rest of the file."""

from __future__ import annotations

import csv
import io
import random

import pytest

from workflow.preprocess.csv_records import CsvFraming, _RecordScan


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


def test_an_open_quote_past_the_line_bound_that_never_closes_as_csv_costs_only_its_line():
    data = b'id,text\na,"open\n' + b"".join(b"x%d,y\n" % i for i in range(10)) + b'z,"w\nq"\n'
    framing, records = framed(data, max_record_lines=4)
    assert records[0].fields is None and records[0].error == (
        "line 2: unbalanced quote (the field it opens ends on line 13, where what follows the closing quote is not CSV)")
    assert [record.fields for record in records[1:11]] == [[f"x{i}", "y"] for i in range(10)]
    assert records[11].fields == ["z", "w\nq"], "a field within the bound still spans lines"
    assert counts(framing) == (14, 0, 1, 12, 13)
    _, records = framed(b'id,text\na,"open\n' + b"".join(b"x%d,y\n" % i for i in range(10)), max_record_lines=4)
    assert records[0].error == "line 2: unbalanced quote (no closing quote before the end of the file)"
    assert [record.fields for record in records[1:]] == [[f"x{i}", "y"] for i in range(10)]


def test_a_legal_quoted_field_past_the_line_bound_is_one_rejected_record_and_its_lines_never_records():
    """A reported file: a quoted field of 1,200 lines between 10 rows, each inner line shaped like a row of the file
    (11 records to the csv module, which framing past the bound used to turn into 1,210)."""
    inner = b"".join(b"inner%d,looks like a row\n" % i for i in range(1198))
    data = (b"id,text,label\n" + b"".join(b"r%d,review %d,pos\n" % (i, i) for i in range(5))
            + b'long,"first line\n' + inner + b'last line",neg\n' + b"".join(b"r%d,review %d,neg\n" % (i, i) for i in range(5, 10)))
    assert len(list(csv.reader(io.StringIO(data.decode())))) == 12
    framing, records = framed(data.replace(b",looks like a row", b" looks like a row,pos"))  # inner lines of the header's width
    assert [(record.line, record.lines) for record in records] == [(i, 1) for i in range(2, 7)] + [(7, 1200)] + [
        (i, 1) for i in range(1207, 1212)]
    assert records[5].fields is None and records[5].error == (
        "lines 7-1206: a quoted field longer than 1000 lines (legal CSV, rejected as one record)")
    assert [record.fields[0] for record in records if record.fields] == [f"r{i}" for i in range(10)]
    assert counts(framing) == (1211, 0, 1, 11, 1210)


def test_past_the_bound_a_record_of_another_width_or_a_nul_byte_costs_only_its_first_line():
    rows = b"".join(b"x%d,y\n" % i for i in range(6))
    _, records = framed(b'id,text\na,"open\n' + rows + b'closes",here,surplus\nb,c\n', max_record_lines=3)
    assert records[0].error == "line 2: unbalanced quote (the record it opens ends on line 9 with 4 fields, the header has 2)"
    assert [record.line for record in records] == list(range(2, 11)) and records[7].error == "line 9: 3 fields, the header has 2"
    _, records = framed(b'id,text\na,"open\n' + rows + b"nul\0here\n" + b'b,"c"\n', max_record_lines=3)
    assert records[0].error == "line 2: unbalanced quote (no closing quote before a NUL byte on line 9)"
    assert [(record.line, record.fields) for record in records[1:]] == [(3 + i, [f"x{i}", "y"]) for i in range(6)] + [
        (9, None), (10, ["b", "c"])]


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_the_record_scan_ends_records_where_the_csv_module_does(delimiter):
    """Random lines of quotes, delimiters, doubled quotes and carriage returns: the scan, fed line by line, says the record
    ends (with the module's field count), breaks (a strict parse error) or goes on (unterminated) exactly as csv.reader."""
    rng = random.Random(3)
    alphabet = ['"', '"', delimiter, "a", "b", " ", '""', "\r"]
    for _ in range(3000):
        lines = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8))) for _ in range(rng.randint(1, 4))]
        if lines[0].isspace() or not lines[0]:
            continue  # a blank line is counted as blank, never framed
        scan = _RecordScan(delimiter)
        for count, line in enumerate(lines, start=1):
            verdict = scan.feed(line)
            text = "\n".join(lines[:count])
            try:
                rows = list(csv.reader([text], delimiter=delimiter, strict=True))
                expected = True if len(rows) == 1 else False
            except csv.Error as error:
                expected = None if str(error) == "unexpected end of data" else False
            assert verdict == expected, (lines[:count], verdict, expected)
            if verdict:
                assert scan.fields == len(rows[0]), lines[:count]
            if verdict is not None:
                break


def test_nul_bytes_bad_utf8_blank_lines_and_a_bom():
    data = b'\xef\xbb\xbf\nid,text\n\n  \r\na,b\x00c\nd,caf\xe9\n\t\ne,"x\n\x00y"\nf,g\n'
    framing, records = framed(data)
    assert framing.header == ["id", "text"], "the BOM is not part of the first column's name"
    assert [(record.line, record.fields, record.error) for record in records] == [
        (5, None, "line 5: NUL byte"),
        (6, ["d", "caf\udce9"], None),  # kept as a surrogate: the parser rejects the text as not UTF-8
        (8, None, "line 8: unbalanced quote (no closing quote before a NUL byte on line 9)"),
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
