"""Views of studies and spaces for the commands: the status table, the export document, the
report files, the dashboard server, the table of spaces. They read the storage, never run trials.

Import each from its module (`search.views.table`, `.export`, `.gain`, `.report`, `.dashboard`,
`.spaces`, `.model`): the package imports none of them, so a command loads only the view it shows.
"""

__all__: list[str] = []  # nothing here: each view is in its module
