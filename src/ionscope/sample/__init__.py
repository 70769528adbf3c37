"""Sample history files: where they are found, how they are read and checked, templates.

A ``sample.yaml`` (or ``sample.yml`` / ``sample.json``) in a data file's folder applies to every file
there; ``NAME.sample.yaml`` beside one file overrides it field by field; a history given explicitly
(``--sample FILE`` on the command line) overrides both. The fields are those of
:class:`ionscope.model.SampleHistory`.
"""

from ionscope.sample.history import (
    history_folder,
    history_for,
    history_sources,
    load_history,
    template,
)

__all__ = ["history_folder", "history_for", "history_sources", "load_history", "template"]
