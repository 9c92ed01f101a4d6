"""Field types: how a value is typed in, checked, stored and shown.

Every type is re-exported here and from ``deskwork``::

    from deskwork import Text, Money, Date, Lookup
"""

from deskwork.fields.base import Compute, Field, Validator
from deskwork.fields.choices import Choice, Lookup, MultiChoice, YesNo
from deskwork.fields.dates import Date, DateTime
from deskwork.fields.files import File
from deskwork.fields.numbers import Integer, Money, Number
from deskwork.fields.text import Email, LongText, Text, Url

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
