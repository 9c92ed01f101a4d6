"""Field types: how a value is typed in, checked, stored and shown.

Every type is re-exported here and from ``webapp``::

    from webapp import Text, Money, Date, Lookup
"""

from webapp.fields.base import Compute, Field, Validator
from webapp.fields.choices import Choice, Lookup, MultiChoice, YesNo
from webapp.fields.dates import Date, DateTime
from webapp.fields.files import File
from webapp.fields.numbers import Integer, Money, Number
from webapp.fields.text import Email, LongText, Text, Url

__all__ = [
    "Choice",
    "Compute",
    "Date",
    "DateTime",
    "Email",
    "Field",
    "File",
    "Integer",
    "LongText",
    "Lookup",
    "Money",
    "MultiChoice",
    "Number",
    "Text",
    "Url",
    "Validator",
    "YesNo",
]
