"""CCHC inspection data for a ward. Importing the package masks credentials in every log record."""

from cchc import logmask as _logmask

_logmask.install()
