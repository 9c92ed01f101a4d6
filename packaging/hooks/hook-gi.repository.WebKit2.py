# WebKitGTK for pywebview's GTK backend: PyInstaller ships no hook for it. Collect the
# typelibs (and their libraries) of WebKit2 and the two libraries its API exposes.
from PyInstaller.utils.hooks.gi import GiModuleInfo

MODULES = [
    ("WebKit2", ("4.1", "4.0")),
    ("JavaScriptCore", ("4.1", "4.0")),
    ("Soup", ("3.0", "2.4")),
]


def hook(hook_api):
    for name, versions in MODULES:
        for version in versions:
            info = GiModuleInfo(name, version)
            if info.available:
                binaries, datas, hiddenimports = info.collect_typelib_data()
                hook_api.add_binaries(binaries)
                hook_api.add_datas(datas)
                hook_api.add_imports(*hiddenimports)
                break
