"""deskwork's native host: the server thread, the window, data and log folders, the CLI.

Everything that knows about pywebview, the operating system or PyInstaller lives here;
the Flask side (``deskwork``) knows nothing of it.
"""

from deskwork import __version__

__all__ = ["__version__"]
