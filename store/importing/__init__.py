"""The import pipeline: source files of people, orders, web signals, preferences, consents and past
interactions into the unified customer store (file formats: README.md, "Import formats").

Importers take a Session and never commit: the caller owns the transaction (the CLI opens one per
batch). People importing does not run identity resolution; run store.resolution.relink after it.
"""
from store.importing.children import import_consents, import_preferences, import_web_signals
from store.importing.interactions import import_interactions
from store.importing.orders import import_orders, order_key
from store.importing.people import check_source_name, import_people
from store.importing.readers import ImportFileError, batched, detect_format, read_rows
from store.importing.report import ImportReport, RowProblem

IMPORT_KINDS = ("people", "orders", "signals", "preferences", "consents", "interactions")

__all__ = [
    "IMPORT_KINDS",
    "ImportFileError",
    "ImportReport",
    "RowProblem",
    "batched",
    "check_source_name",
    "detect_format",
    "import_consents",
    "import_interactions",
    "import_orders",
    "import_people",
    "import_preferences",
    "import_web_signals",
    "order_key",
    "read_rows",
]
