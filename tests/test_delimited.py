"""The one reader of TSV and CSV: rows with the line they start on, bad rows with file:line reasons,
a header that cannot be read stopped at once, and files read a record at a time."""

import io
from pathlib import Path

import pytest

from ksent import delimited
from ksent.data import read_labelled
from ksent.delimited import BadBytes, BadRow, Row, Table
from ksent.errors import KsentError


def table(data: bytes, delimiter: str = "\t", name: str = "표.tsv") -> Table:
    return Table(io.BytesIO(data), Path(name), delimiter)


def test_tsv_rows_keep_quotes_and_give_their_lines():
    t = table('\ufeffid\tdocument\r\n1\t"따옴표"가 그대로\n2\t\n'.encode())
    assert t.header == ["id", "document"]
    assert list(t) == [Row(2, ["1", '"따옴표"가 그대로']), Row(3, ["2", ""])]
    assert t.pos == len('\ufeffid\tdocument\r\n1\t"따옴표"가 그대로\n2\t\n'.encode())


def test_tsv_bad_rows_name_their_line_and_what_is_wrong():
    rows = list(table(b"a\tb\n1\t\xff\n2\n3\t4"))
    assert isinstance(rows[0], BadBytes) and (rows[0].line, rows[0].offset, rows[0].byte) == (2, 6, b"\xff")
    assert rows[0].reason == "byte 2 of the line (b'\\xff') is not UTF-8"
    assert isinstance(rows[1], BadRow) and rows[1].line == 3
    assert rows[1].reason == "expected 2 tab-separated fields (a, b), found 1"
    assert rows[2] == Row(4, ["3", "4"])  # the last line needs no line break


def test_csv_records_may_span_lines_and_start_where_they_start():
    t = table(b'id,text\n1,"a, b"\n2,"two\nlines"\n3,\xff\n4,"x"y\n5,ok\n', ",", "표.csv")
    rows = list(t)
    assert rows[0] == Row(2, ["1", "a, b"]) and rows[1] == Row(3, ["2", "two\nlines"])
    assert isinstance(rows[2], BadBytes) and rows[2].line == 5 and rows[2].reason == "bytes that are not UTF-8"
    assert isinstance(rows[3], BadRow) and rows[3].line == 6 and "malformed CSV" in rows[3].reason
    assert rows[4] == Row(7, ["5", "ok"])  # nothing merged after the bad rows


def test_csv_unterminated_quote_is_an_error_not_a_merge():
    (row,) = list(table(b'id,text\n1,"open\n2,x\n', ",", "표.csv"))
    assert isinstance(row, BadRow) and row.line == 2
    assert row.reason == "malformed CSV (unexpected end of data) (the record runs to line 3)"


@pytest.mark.parametrize("delimiter", ["\t", ","])
def test_a_header_that_cannot_be_read_stops_with_file_and_line(delimiter):
    with pytest.raises(KsentError, match=r"표\.tsv is empty"):
        table(b"", delimiter)
    with pytest.raises(KsentError, match=r"표\.tsv:1: the header is not UTF-8 \(byte offset 2, b'\\xff'\).*iconv"):
        table(b"id\xff\n", delimiter)


def test_hangul_paths_and_their_errors(hangul_root):
    folder = hangul_root / "구분자 파일"
    folder.mkdir()
    tsv, csv_ = folder / "리뷰 모음.tsv", folder / "리뷰 모음.csv"
    tsv.write_text("id\tdocument\tlabel\n1\t좋다\t1\n2\t별로\n", encoding="utf-8")
    csv_.write_text('id,document,label\n1,"좋다,\n정말",1\n2,별로\n', encoding="utf-8")
    assert delimited.read_header(tsv) == delimited.read_header(csv_, ",") == ["id", "document", "label"]
    with pytest.raises(KsentError, match=r"구분자 파일/리뷰 모음\.tsv:3: expected 3 tab-separated fields.*found 2"):
        read_labelled(tsv)
    with pytest.raises(KsentError, match=r"구분자 파일/리뷰 모음\.csv:4: expected 3 ','-separated fields.*found 2"):
        read_labelled(csv_)
    with pytest.raises(KsentError, match=r"file not found: .*없는 파일\.tsv"):
        delimited.read_header(folder / "없는 파일.tsv")
    with pytest.raises(KsentError, match=r"구분자 파일 is a folder"):
        read_labelled(folder)


def test_bad_bytes_in_a_csv_record_name_the_byte_and_its_line(hangul_root):
    f = hangul_root / "인코딩 깨짐.csv"
    head = b'id,document,label\n1,"\xec\xa2\x8b\n'
    f.write_bytes(head + b'\xff",1\n')
    with pytest.raises(KsentError, match=rf"깨짐\.csv:3: byte offset {len(head)} \(b.\\xff.\) is not valid UTF-8"):
        read_labelled(f)


def test_bom_offsets_count_from_the_start_of_the_file(hangul_root):
    f = hangul_root / "bom.tsv"
    f.write_bytes(b"\xef\xbb\xbfid\tdocument\tlabel\n1\t\xff\t1\n")
    with pytest.raises(KsentError, match=r"bom\.tsv:2: byte offset 23 \(b'\\xff'\)"):
        read_labelled(f)


def test_rows_are_read_as_they_are_asked_for():
    class Counting(io.BytesIO):
        lines = 0

        def __next__(self):
            Counting.lines += 1
            return super().__next__()

    f = Counting(b"a\tb\n" + b"1\t2\n" * 100_000)
    t = Table(f, Path("큰.tsv"))
    next(iter(t))
    assert Counting.lines == 2  # the header and one row, not the file
