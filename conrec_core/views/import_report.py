"""The import report as a person reads it: one row per fact, in words, instead of the record's JSON."""

from __future__ import annotations

import pandas as pd


def import_report_rows(report: dict) -> pd.DataFrame:
    """(what, value) rows of an import report (`data.importer.ImportReport.to_dict()`); parts the report lacks
    are left out."""
    rows: list[tuple[str, str]] = [("source", str(report.get("source"))), ("format", str(report.get("format")))]
    events = report.get("events") or {}
    if events:
        rows += [("event file", str(events.get("file"))),
                 ("rows read", f"{events.get('rows_read', 0):,}"),
                 ("exact duplicates dropped", f"{events.get('duplicates_dropped', 0):,}")]
        rows += [(f"negatives dropped, reason “{reason}” (not a taste signal)", f"{count:,}")
                 for reason, count in (events.get("non_interest_dropped") or {}).items()]
        rows.append(("events kept", f"{events.get('events_kept', 0):,}"))
    items = report.get("items") or {}
    if items:
        rows += [("item rows read", f"{items.get('rows_read', 0):,}"), ("items kept", f"{items.get('items_kept', 0):,}"),
                 ("items without text", f"{items.get('items_without_text', 0):,}")]
        rows += [(f"items with a “{name}” vector", f"{count:,}") for name, count in (items.get("vectors") or {}).items()]
    if report.get("id_only_items_added"):
        rows.append(("id-only items added (events whose item the item file lacks)",
                     f"{report['id_only_items_added']:,}"))
    if report.get("true_dislike_rows"):
        rows.append(("ground-truth dislike rows", f"{report['true_dislike_rows']:,}"))
    rows += [(f"{split} samples", f"{count:,}") for split, count in sorted((report.get("samples") or {}).items())]
    if report.get("seconds") is not None:
        rows.append(("import time", f"{report['seconds']:.1f} s"))
    return pd.DataFrame(rows, columns=["what", "value"])
