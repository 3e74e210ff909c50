"""report.html: report.md as one self-contained page, its figures embedded, to mail or open offline.

The Markdown is rendered with raw HTML off, so no text from a log (a title, an id) can become markup; a figure
is embedded only when it names a PNG file of the report's own folder.
"""

from __future__ import annotations

import base64
import html
import io
import re
import zipfile
from pathlib import Path

from markdown_it import MarkdownIt

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; display: block; overflow-x: auto; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; white-space: nowrap; }
th { background: #f3f3f3; }
pre, code { background: #f6f6f6; }
pre { padding: 0.5em; overflow-x: auto; }
img { max-width: 100%; }
"""
FIGURE = re.compile(r'<img src="(?P<name>[\w.-]+\.png)"')


def report_html(markdown_text: str, folder: Path, title: str = "conrec report") -> str:
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown_text)

    def embed(match: re.Match) -> str:
        path = Path(folder) / match["name"]
        if not path.is_file():
            return match[0]
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f'<img src="data:image/png;base64,{data}"'

    body = FIGURE.sub(embed, body)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>\n{body}</body></html>\n")


def write_report_html(folder: Path, name: str = "report") -> Path:
    """FOLDER/NAME.html from FOLDER/NAME.md."""
    folder = Path(folder)
    text = (folder / f"{name}.md").read_text()
    heading = next((line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("# ")), name)
    out = folder / f"{name}.html"
    out.write_text(report_html(text, folder, heading))
    return out


def report_zip(folder: Path, prefix: str = "report") -> bytes:
    """report.md with every figure it links, as one zip under PREFIX/, so the downloaded Markdown shows them."""
    folder = Path(folder)
    text = (folder / "report.md").read_text()
    linked = dict.fromkeys(re.findall(r"!\[[^\]]*\]\(([\w.-]+\.png)\)", text))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{prefix}/report.md", text)
        for name in linked:
            if (folder / name).is_file():
                archive.write(folder / name, f"{prefix}/{name}")
    return buffer.getvalue()
