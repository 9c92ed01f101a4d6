# deskwork's Flask side: its Jinja templates and static files are data, not modules.
from PyInstaller.utils.hooks import collect_data_files

datas = collect_data_files("webapp", excludes=["**/__pycache__"])
