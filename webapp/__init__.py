"""deskwork's Flask side: declare a tool (tables, forms, reports) and serve it.

Tool authors import everything they need from here::

    from webapp import Tool, Text, Money, Date

This package never imports ``webview`` or ``desktop``: the same tool runs in a test
client, a browser or the native window.
"""

from webapp.app import create_app
from webapp.errors import DeskworkError, SchemaError, ToolError, ValidationError
from webapp.fields import (
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
from webapp.model import FormPage, FunctionPage, ReportPage, Table, TablePage, Tool, ViewPage
from webapp.storage import Storage
from webapp.views import get_db

__version__ = "0.1.0"

__all__ = [
    "Choice",
    "Date",
    "DateTime",
    "DeskworkError",
    "Email",
    "Field",
    "File",
    "FormPage",
    "FunctionPage",
    "Integer",
    "LongText",
    "Lookup",
    "Money",
    "MultiChoice",
    "Number",
    "ReportPage",
    "SchemaError",
    "Storage",
    "Table",
    "TablePage",
    "Text",
    "Tool",
    "ToolError",
    "Url",
    "ValidationError",
    "ViewPage",
    "YesNo",
    "__version__",
    "create_app",
    "get_db",
]
