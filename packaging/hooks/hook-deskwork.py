# deskwork's Flask side: its Jinja templates and static files are data, not modules. The
# build files and icons an installed wheel carries (desktop/_packaging, desktop/_assets)
# are for building, not for the tool at run time.
from PyInstaller.utils.hooks import collect_data_files

datas = collect_data_files(
    "deskwork",
    excludes=["**/__pycache__", "desktop/_packaging", "desktop/_assets"],
)

# Signed updates (deskwork.desktop.updates) verify with PyNaCl, whose compiled _sodium
# module loads cffi's _cffi_backend from C, where PyInstaller's analysis can't see it.
hiddenimports = ["nacl.signing", "nacl.bindings", "_cffi_backend"]
