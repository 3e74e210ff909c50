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
