"""Views of studies and spaces for the commands: the status table, the export document, the
report files, the dashboard server, the table of spaces. They read the storage, never run trials.
"""

from search.views.export import best_trial, export_document, write_document
from search.views.gain import Gain, gain
from search.views.table import describe_model, trials_table

__all__ = [
    "Gain",
    "best_trial",
    "describe_model",
    "export_document",
    "gain",
    "trials_table",
    "write_document",
]
