"""deskwork: internal tools (forms, tables, reports) in a few lines of Python.

Tool authors import everything they need from here::

    from deskwork import Tool, Text, Money, Date

``__all__`` is the whole public surface (the README's "API" lists the same names, and a
test keeps the two together). Everything else (the app factory, storage, page classes)
stays importable from its own module for deskwork itself and its tests.

The Flask side (this package, but for ``deskwork.desktop``) never imports ``webview`` or
the native host: the same tool runs in a test client, a browser or the native window.
"""

from typing import TYPE_CHECKING, Any

from deskwork.errors import DeskworkError, SchemaError, ToolError, ValidationError
from deskwork.fields import (
    Choice,
    Date,
    DateTime,
    Email,
    Field,
    File,
    Integer,
    LongText,
    Lookup,
    Money,
    MultiChoice,
    Number,
    Text,
    Url,
    YesNo,
)
from deskwork.measures import Average, Count, Maximum, Minimum, Sum
from deskwork.model import Tool

if TYPE_CHECKING:
    from deskwork.views import get_db

__version__ = "0.1.0"

__all__ = [
    "Average",
    "Choice",
    "Count",
    "Date",
    "DateTime",
    "DeskworkError",
    "Email",
    "Field",
    "File",
    "Integer",
    "LongText",
    "Lookup",
    "Maximum",
    "Minimum",
    "Money",
    "MultiChoice",
    "Number",
    "SchemaError",
    "Sum",
    "Text",
    "Tool",
    "ToolError",
    "Url",
    "ValidationError",
    "YesNo",
    "__version__",
    "get_db",
]


def __getattr__(name: str) -> Any:
    # get_db is for serving, which needs Flask: importing deskwork to declare a tool does not.
    if name == "get_db":
        from deskwork.views import get_db

        get_db.__module__ = __name__
        return get_db
    raise AttributeError(f"module 'deskwork' has no attribute {name!r}")


# Shown as deskwork.Text, not deskwork.fields.text.Text, in reprs and errors (as httpx does).
for _name in __all__:
    if _name in globals() and not _name.startswith("__"):
        globals()[_name].__module__ = __name__
del _name
