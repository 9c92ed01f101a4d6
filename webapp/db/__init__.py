"""deskwork's SQLite layer: everything that reads or writes a tool's database file.

The rule of this package: nothing in it imports Flask, Werkzeug, Jinja, ``webview`` or the
native host (``deskwork.desktop``), nor any module of deskwork that does. It works on a
database connection and the tool's declarations only, so its rules hold for every way in:
forms, bulk actions, imports, the command line, a script. ``tests/test_layering.py``
checks the rule on every module found here (not on a list kept by hand), and that the
modules here import each other without a cycle.

* ``storage``: the one owner of connecting: a tool's ``Storage`` (connections, write
  transactions, read-only connections with a time limit, the integrity errors SQLite
  raises, in words), and preparing a file (``prepare``), backups first.
* ``migrations``: deskwork's own tables, by named migrations recorded in the file.
* ``schema``: the tool's tables made to follow its declarations.
* ``records``: a record's life (parse, check, create, update, delete).
* ``history``: every change, the bin, undo and earlier versions.
* ``tokens``: one-time tokens spent, so a form sent twice acts once.
* ``bulk``: one change to many rows, one undo.
* ``listing``, ``search``, ``lookups``: the queries of a table page.
* ``attachments``: files kept inside the database.
* ``backups``: copies made with SQLite's backup API, and restores.
"""

#: How many backups of a tool's database are kept, unless the ``backups`` setting says.
BACKUPS_KEPT = 10
