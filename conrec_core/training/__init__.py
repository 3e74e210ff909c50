"""Supervised fine-tuning of the SID model: the run prepared, stepped, checked and finished."""
