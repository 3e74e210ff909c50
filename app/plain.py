"""Text from data (ids, titles, file names, an importer's message quoting a cell) shown as text: Streamlit renders
the body of st.error, st.warning and st.markdown as Markdown, where `[x](http://…)` is a link and `![x](…)` an
image fetched from anywhere."""

from __future__ import annotations

import re

# CommonMark lets a backslash escape any ASCII punctuation; Streamlit's own :emoji:, :color[…] and $math$ are
# punctuation too, so nothing in the text is read as markup.
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def as_text(text: object) -> str:
    """`text` escaped so Markdown shows it as written.

    >>> as_text("row 3: [click](http://x) ![i](http://y/z.png) *bold* :red[no] $x$")
    'row 3\\\\: \\\\[click\\\\]\\\\(http\\\\:\\\\/\\\\/x\\\\) \\\\!\\\\[i\\\\]\\\\(http\\\\:\\\\/\\\\/y\\\\/z\\\\.png\\\\) \\\\*bold\\\\* \\\\:red\\\\[no\\\\] \\\\$x\\\\$'
    """
    return _PUNCTUATION.sub(r"\\\1", str(text))
