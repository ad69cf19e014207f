"""The one family of refusals: a request the domain declines, with the reason for the employee.

A `Refused` carries a catalog key (handlers/i18n) and the parameters that fill it in, never text: the
domain knows nothing of languages or of Slack. The listener error handler (bot/app.py) turns any refusal
that escapes a listener into the employee's message, in their language, in the way the request allows.
`field` names the form field the refusal is about (the store's form field names, which the modals use as
block ids), for the listeners that must answer a modal submission with an error under that field.
"""
from __future__ import annotations


class Refused(Exception):
    """Nothing was changed; `key` (with `params`) says why, `field` is the form field at fault, if any."""

    def __init__(self, key: str, *, field: str | None = None, **params: object) -> None:
        super().__init__(key)  # the key only: params may quote what an employee typed (a name)
        self.key = key
        self.params = params
        self.field = field
