"""A virtual screen for real windows: Xvfb picks a free display number and tells us it."""

from __future__ import annotations

import os
import subprocess


def start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    """Start Xvfb; return the process and its DISPLAY value (``:N``)."""
    read, write = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
        pass_fds=[write],
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read, encoding="ascii") as pipe:
        number = pipe.readline().strip()
    if not number:
        xvfb.kill()
        xvfb.wait()
        raise RuntimeError("Xvfb did not start: install the xvfb package (bash .ci/dev does).")
    return xvfb, f":{number}"
