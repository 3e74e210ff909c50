"""Import a log: pick a file (upload or a path here) or a MovieLens folder, map its columns in a form built from
its header and values, check every row as the importer would, then import it in the background."""

from pathlib import Path

import streamlit as st

from app import import_data
from app.job_panel import job_panel
from conrec_core.data.mapping import TIME_UNITS
from conrec_core.data.mapping_guess import guess_kind_rule, one_kind_warning
from conrec_core.data.preview import ITEM_ROLE_NAMES, guess_roles
from conrec_core.errors import ConrecError
from conrec_core.jobs.params import ImportJob
from conrec_core.jobs.registry import JobRegistry
from app.plain import as_text

st.title("Import a log")
st.caption("Bring your own event log with explicit negative feedback (dislike, hide, not interested, low stars). "
           "The file is checked row by row with the same rules and messages as `python -m conrec_core import`; "
           "the import runs in the background and an existing workspace of the same name is replaced only if it "
           "succeeds.")

TIME_UNIT_LABELS = {"s": "seconds since 1970", "ms": "milliseconds since 1970", "iso": "ISO-8601 text"}
NONE = "(none)"

# 1. The file
how = st.radio("Where is the log?", ["Upload a file", "A file or MovieLens folder on this machine"],
               horizontal=True, key="import_how")
source = None
try:
    if how == "Upload a file":
        limit = st.get_option("server.maxUploadSize")
        upload = st.file_uploader(f"Event log (CSV, TSV, gzip-compressed CSV or Parquet; up to {limit} MB)",
                                  type=["csv", "tsv", "txt", "gz", "parquet"], key="import_upload")
        if upload is not None:
            source = import_data.save_upload(upload.name, upload.getvalue())
    else:
        typed = st.text_input("Path", key="import_path", placeholder="/data/logs/events.csv or /data/ml-latest-small")
        if typed:
            source = import_data.server_path(typed)
except ConrecError as error:
    st.error(as_text(error))
if source is None:
    st.info("Choose a file to see its columns.")
    st.stop()

if st.session_state.get("import_source") != str(source):  # a new file: its own name, not the last one's
    st.session_state["import_source"] = str(source)
    st.session_state["import_name"] = import_data.default_name(source)
name = st.text_input("Workspace name", key="import_name",
                     help="the workspace file is workspaces/NAME.duckdb; letters, digits, _ . -")
try:
    workspace = import_data.target_workspace(name)
except ConrecError as error:
    st.error(as_text(error))
    st.stop()
if workspace.exists():
    st.warning(f"A workspace named {name!r} exists: a successful import replaces it (a failed one leaves it as "
               "it is).")
registry = JobRegistry(workspace)


def start_import(**params) -> None:
    try:
        job = registry.submit("import", ImportJob(source=str(source), **params))
        st.toast(f"Import job {job.id} is {job.status}.")
    except ConrecError as error:
        st.error(as_text(error))


if import_data.is_movielens(source):
    st.success("This is a MovieLens folder: ratings ≤ 2 become negatives and ≥ 4 positives (the CLI's "
               "`--negative-max` and `--positive-min` change that).")
    if st.button("Import", type="primary", key="import_movielens"):
        start_import(format="movielens")
    job_panel(workspace, "import", "import")
    st.stop()
if source.is_dir():
    st.error(as_text(f"{source} is a folder but not a MovieLens one (no ratings.csv or u.data): choose the event file."))
    st.stop()

# 2. Preview
with st.expander("Reading options"):
    left, right = st.columns(2)
    delimiter_choice = left.selectbox("Delimiter", ["detect", ",", "tab", ";", "|"], key="import_delimiter")
    encoding = right.selectbox("Encoding", ["utf-8", "latin-1", "utf-16"], key="import_encoding")
delimiter = {"detect": None, "tab": "\t"}.get(delimiter_choice, delimiter_choice)
try:
    file = import_data.preview(source, delimiter, encoding)
except ConrecError as error:
    st.error(as_text(error))
    st.stop()
st.subheader(f"{Path(import_data.label(source)).name}: {file.rows:,} rows, {len(file.columns)} columns")
st.dataframe(file.head(8), hide_index=True, width="stretch")


def values_of(column: str):
    stat = source.stat()
    return import_data.column_values(str(source), (stat.st_size, stat.st_mtime_ns), column, delimiter, encoding)


# 3. The mapping
st.subheader("What each column means")
drafted = import_data.guess_mapping(source, delimiter, encoding)
guess = {role: drafted.events.get(role) for role in ("user", "item", "time")}
guess["kind"] = (drafted.events.get("kind") or {}).get("column")
guess["reason"] = (drafted.events.get("reason") or {}).get("column")
columns = file.columns
slots = {}  # column -> placeholder under its widget, where a check's message about that column goes


def pick(container, label: str, role: str, optional: bool = False, help: str | None = None) -> str | None:
    """A column for `role`, starting at the guess; a required role the guess could not fill starts unchosen."""
    options = ([NONE] if optional else []) + columns
    default = guess.get(role)
    index = options.index(default) if default in options else (0 if optional else None)
    chosen = container.selectbox(label, options, index=index, key=f"import_col_{role}", help=help,
                                 placeholder="choose a column")
    if chosen is not None and chosen != NONE:
        slots.setdefault(chosen, container.empty())
    return None if chosen in (None, NONE) else chosen


left, middle, right = st.columns(3)
user = pick(left, "User column", "user")
item = pick(middle, "Item column", "item")
time_column = pick(right, "Time column", "time")
if drafted.notes:
    st.caption("Guessed from the file: " + " ".join(drafted.notes))
if None in (user, item, time_column):
    st.info("Choose the user, item and time columns.")
    st.stop()
if len({user, item, time_column}) < 3:
    st.error("The user, item and time need a column each: one column is chosen twice.")
    st.stop()
unit_guess = file.guess_time_unit(time_column)
unit = right.selectbox("Time unit", TIME_UNITS, index=TIME_UNITS.index(unit_guess),
                       key=f"import_time_unit_{time_column}",  # guessed again for each time column
                       format_func=TIME_UNIT_LABELS.get, help="guessed from the column's values")
span = file.time_range(time_column, unit)
if span is None:
    right.error(f"No cell of {time_column} reads as a time in {TIME_UNIT_LABELS[unit]}"
                + (" (these numbers are too large for seconds: milliseconds?)." if unit == "s" else "."))
elif not (1990 <= span[0].year and span[1].year <= 2100):
    right.warning(f"Read this way the times run from {span[0]:%Y-%m-%d} to {span[1]:%Y-%m-%d}: check the unit.")
else:
    right.caption(f"Read this way: {span[0]:%Y-%m-%d %H:%M} to {span[1]:%Y-%m-%d %H:%M} UTC")

left, right = st.columns(2)
kind_column = pick(left, "Feedback column", "kind", help="which events are negative, positive or neutral")
if kind_column is None:
    st.info("Choose the column that says whether an event is a dislike.")
    st.stop()
if kind_column in (user, item, time_column):
    left.error(as_text(f"{kind_column} is already the user, item or time column: the feedback needs a column of its own."))
    st.stop()
kind_values = values_of(kind_column)
rule = guess_kind_rule(kind_column, kind_values)
by_thresholds = "negative_max" in rule
mode = left.radio("Kinds by", ["listed values", "rating thresholds"], index=1 if by_thresholds else 0,
                  horizontal=True, key=f"import_kind_mode_{kind_column}",
                  help="a two-valued column (0/1, yes/no) maps by listed values")
kind: dict = {"column": kind_column}
if mode == "listed values":
    listed = [value for value, _ in kind_values.values]
    if kind_values.distinct > len(listed):
        left.caption(f"The {len(listed)} commonest of {kind_values.distinct:,} values are listed.")
    placed = import_data.listed_kinds(rule, listed)
    taken: set = set()
    for kind_name, label in (("negative", "Negative feedback (what conrec learns from)"),
                             ("positive", "Positive feedback"), ("neutral", "Neither (impressions, views)")):
        chosen = right.multiselect(label, [v for v in listed if v not in taken],
                                   default=[v for v in placed[kind_name] if v not in taken],
                                   key=f"import_kind_{kind_name}_{kind_column}")
        taken |= set(chosen)
        kind[kind_name] = chosen
        if kind_name == "negative" and not chosen:
            right.error("Choose at least one value that means a dislike.")
            st.stop()
else:
    if kind_values.numeric_share < 0.99:
        right.error(as_text(f"{kind_column} holds text, not numbers: map it by listed values."))
        st.stop()
    low, high = right.columns(2)
    kind["negative_max"] = low.number_input("Negative at or below", value=rule.get("negative_max", 2.0), step=0.5,
                                            key=f"import_negative_max_{kind_column}")
    kind["positive_min"] = high.number_input("Positive at or above", value=rule.get("positive_min", 4.0),
                                             step=0.5, key=f"import_positive_min_{kind_column}")
    if kind["negative_max"] >= kind["positive_min"]:
        right.error("“Negative at or below” must be below “Positive at or above”.")
        st.stop()
    right.caption("Values between the two are neutral.")

reason_column = pick(left, "Reason column (optional)", "reason", optional=True,
                     help="why a user gave negative feedback; reasons that are not a dislike of the item can be "
                          "dropped")
events: dict = {"user": user, "item": item, "time": time_column, "time_unit": unit, "kind": kind}
if reason_column:
    reasons = [value for value, _ in values_of(reason_column).values]
    drop = right.multiselect("Drop negatives with these reasons (not a taste signal)", reasons,
                             key=f"import_reason_drop_{reason_column}")
    events["reason"] = {"column": reason_column, "drop": drop}
if delimiter:
    events["delimiter"] = delimiter
if encoding != "utf-8":
    events["encoding"] = encoding
raw = {"events": events}

with st.expander("Item file (optional): titles and text make better semantic IDs"):
    item_upload = st.file_uploader("Item file (CSV, TSV or Parquet)", type=["csv", "tsv", "txt", "gz", "parquet"],
                                   key="import_items_upload")
    item_path_text = st.text_input("…or its path on this machine", key="import_items_path")
    if item_upload is not None or item_path_text:
        try:
            item_path = (import_data.save_upload(item_upload.name, item_upload.getvalue()) if item_upload is not None
                         else import_data.server_path(item_path_text))
            items = import_data.preview(item_path)
            st.dataframe(items.head(5), hide_index=True)
            a, b, c = st.columns(3)
            options = [NONE] + items.columns
            item_guess = guess_roles(items.columns, ITEM_ROLE_NAMES)
            item_id = a.selectbox("Item id column", items.columns, key="import_items_id",
                                  index=items.columns.index(item_guess["id"]) if item_guess["id"] else 0)
            title = b.selectbox("Title column", options, key="import_items_title",
                                index=options.index(item_guess["title"] or NONE))
            category = c.selectbox("Category column", options, key="import_items_category",
                                   index=options.index(item_guess["category"] or NONE))
            text = st.multiselect("Other text columns", items.columns, key="import_items_text")
            raw["items"] = {"path": str(item_path), "id": item_id, "text": text,
                            **({"title": title} if title != NONE else {}),
                            **({"category": category} if category != NONE else {})}
            if st.checkbox("Keep events whose item is not in the item file (as id-only items)",
                           key="import_items_add"):
                raw["unknown_items"] = "add"
        except ConrecError as error:
            st.error(as_text(error))

# 4. Check and import
outcome = import_data.check_mapping(source, raw, delimiter, encoding)
job = registry.latest("import")
if job is not None and job.status == "failed" and job.error_column in slots and outcome.error is None:
    slots[job.error_column].error(as_text(f"The last import failed here: {job.error}"))
if outcome.error is not None:
    message = import_data.in_form_words(outcome.error)
    if outcome.column in slots:
        slots[outcome.column].error(as_text(message))
    else:
        st.error(as_text(message))
    st.stop()
kinds = dict(outcome.kinds)
cells = st.columns(4)
cells[0].metric("Events kept", f"{outcome.kept:,}", help=f"of {outcome.rows:,} rows; the rest are exact duplicates "
                                                        "or dropped for their reason")
for cell, name_of_kind in zip(cells[1:], ("negative", "positive", "neutral")):
    cell.metric(name_of_kind.capitalize(), f"{kinds.get(name_of_kind, 0):,}")
if not kinds.get("negative"):
    st.error("No event is negative feedback under this mapping, and negatives are what conrec learns from: choose "
             "the values (or the rating threshold) that mean a dislike.")
    st.stop()
one_kind = one_kind_warning(kinds)
if one_kind:
    st.warning(one_kind + " Every row passes the importer's checks otherwise.")
else:
    st.success("Every row passes the importer's checks.")
if st.button("Import", type="primary", key="import_start"):
    try:
        path = import_data.save_mapping(workspace, import_data.build_mapping(raw))
    except ConrecError as error:
        st.error(as_text(error))
    else:
        st.caption(f"Mapping saved to {path}; the same import from a terminal: `python -m conrec_core import "
                   f"{source} --mapping {path} --workspace {workspace}`")
        start_import(mapping=str(path))
job_panel(workspace, "import", "import")
if job is not None and job.status == "done":
    st.info(f"{name} is in the Dataset list in the sidebar.")
with st.expander("The mapping as JSON"):
    st.json(raw)
