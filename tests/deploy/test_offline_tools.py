"""The serving process never loads the offline tools (renderers, attack generators,
evaluation): they would hand an attacker's toolkit to the server and cost memory."""

import subprocess
import sys

from tests.support import ROOT


def test_the_app_imports_no_offline_tool() -> None:
    script = (
        "import sys, app\n"
        "from face_auth.config import Settings\n"
        "app.create_app(Settings())\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'face_auth_tools')\n"
        "print(loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
