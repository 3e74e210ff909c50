"""The README's Python example runs as written (every stage through the public API)."""

import re
import runpy

from conftest import REPO


def readme_python_example() -> str:
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Your own data: Python"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    script = tmp_path / "example.py"
    script.write_text(readme_python_example())
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert re.search(r"FHR@20 \d\.\d{3} over \d+ test samples", out)
    assert "most_disliked" in out and "grpo" in out
    assert (tmp_path / "example" / "shop.duckdb").is_file()


def test_every_results_table_in_the_readme_is_its_report():
    from conrec_core.evaluation.report_record import read_report
    from conrec_core.evaluation.summary_table import readme_table

    text = (REPO / "README.md").read_text()
    quoted = re.findall(r"<!-- table from (\S+) -->\n(.*?)\n<!-- end of table -->", text, re.S)
    reports = [*(REPO / "reports").glob("*/report.json"), *(REPO / "reports").glob("*/seed-0/report.json")]
    shipped = {path.relative_to(REPO).as_posix() for path in reports}  # a report over seeds: by its first seed
    assert {path for path, _ in quoted} == shipped  # every shipped report is quoted, and nothing else
    for path, table in quoted:
        report = read_report(REPO / path)
        assert table.strip() == readme_table(report), f"README's table from {path} differs from the report"


def test_the_readme_layout_table_names_what_is_there():
    text = (REPO / "README.md").read_text()
    layout = text[text.index("## Layout"):]
    for path in re.findall(r"^\| `([^`]+)`", layout, re.M):
        assert (REPO / path.rstrip("/")).exists(), f"the layout table names {path}, which is not in the tree"
    for package in (REPO / "conrec_core").iterdir():
        if (package / "__init__.py").is_file():
            assert f"conrec_core/{package.name}/" in layout or f"`{package.name}/`" in layout, package.name


def test_every_picture_the_readme_shows_is_in_the_tree():
    text = (REPO / "README.md").read_text()
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert pictures, "the first-ten-minutes section shows the pages"
    for picture in pictures:
        assert (REPO / picture).is_file(), picture
