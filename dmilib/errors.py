"""Errors shared across dmilib that carry more than a message."""

from __future__ import annotations


class FieldValueError(ValueError):
    """A ValueError about one named input field.

    ``field`` is the parameter's name (``"noise_sigma"``), so that a caller can point at the
    input the user gave (the CLI names its flag ``--noise-sigma``) without parsing the message.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
