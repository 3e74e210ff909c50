import gzip

import duckdb
import pytest

from conrec_core.errors import DataError
from conrec_core.data.tabular import CsvOptions, read_table

from conftest import write


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


def rows(con, table="t"):
    return con.execute(f"SELECT * FROM {table} ORDER BY _row").fetchall()


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_detects_the_delimiter_and_numbers_rows(con, tmp_path, delimiter):
    path = write(tmp_path / "e.csv", delimiter.join(["user", "item", "ts"]) + "\n"
                 + "\n".join(delimiter.join(r) for r in [("u1", "i1", "10"), ("u2", "i2", "20")]) + "\n")
    assert read_table(con, path, "t") == ["user", "item", "ts"]
    assert rows(con) == [("u1", "i1", "10", 1), ("u2", "i2", "20", 2)]


def test_quoted_fields_keep_delimiters_and_newlines(con, tmp_path):
    path = write(tmp_path / "q.csv", 'id,title\n1,"Heat, The"\n2,"two\nlines"\n')
    read_table(con, path, "t")
    assert rows(con) == [("1", "Heat, The", 1), ("2", "two\nlines", 2)]


def test_gzip_and_utf8_bom(con, tmp_path):
    path = tmp_path / "e.csv.gz"
    path.write_bytes(gzip.compress("\ufeffa,b\n1,é\n".encode("utf-8")))
    assert read_table(con, path, "t") == ["a", "b"]
    assert rows(con) == [("1", "é", 1)]


def test_parquet_gets_row_numbers(con, tmp_path):
    path = tmp_path / "e.parquet"
    con.execute("COPY (SELECT * FROM (VALUES (7, 'x'), (8, 'y')) v(a, b)) TO ? (FORMAT parquet)", [str(path)])
    assert read_table(con, path, "t") == ["a", "b"]
    assert rows(con) == [(7, "x", 1), (8, "y", 2)]


def test_wrong_encoding_names_the_line_and_the_fix(con, tmp_path):
    path = write(tmp_path / "l.csv", "a,b\n1,ok\n2,caf\xe9\n", encoding="latin-1")
    with pytest.raises(DataError, match=r"l\.csv: line 3 is not valid utf-8 text; set the encoding"):
        read_table(con, path, "t")
    read_table(con, path, "t", csv_options=CsvOptions(encoding="latin-1"))
    assert rows(con)[1] == ("2", "café", 2)


def test_ragged_row_names_its_line(con, tmp_path):
    path = write(tmp_path / "r.csv", "a,b\n1,2\n3,4,5\n6,7\n")
    with pytest.raises(DataError, match=r"r\.csv: line 3: expected 2 fields, found 3"):
        read_table(con, path, "t")


@pytest.mark.parametrize("content, message", [
    ("", "the file is empty"),
    ("\n\n", "the file is empty"),
    ("a,b\n", "the file has a header but no data rows"),
    ("a,a\n1,2\n", "names column 'a' twice"),
])
def test_empty_and_broken_headers(con, tmp_path, content, message):
    path = write(tmp_path / "x.csv", content)
    with pytest.raises(DataError, match=message):
        read_table(con, path, "t")


def test_binary_file_is_not_read_as_text(con, tmp_path):
    path = tmp_path / "blob.csv"
    path.write_bytes(b"\x89PNG\x00\x00\x01\x02")
    with pytest.raises(DataError, match="looks binary"):
        read_table(con, path, "t")


def test_missing_file_and_folder(con, tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_table(con, tmp_path / "nope.csv", "t")
    with pytest.raises(DataError, match="not a regular file"):
        read_table(con, tmp_path, "t")


def test_headerless_file_needs_matching_names(con, tmp_path):
    path = write(tmp_path / "u.data", "1\t2\t3\n")
    with pytest.raises(DataError, match="expected 2 fields per line, found 3"):
        read_table(con, path, "t", csv_options=CsvOptions(delimiter="\t", header=False, column_names=("a", "b")))
