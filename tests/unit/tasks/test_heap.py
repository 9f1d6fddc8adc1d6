"""What start-up built is kept out of the collector's full passes."""

from __future__ import annotations

import subprocess
import sys


def test_settle_freezes_what_start_up_made_and_the_collector_still_runs() -> None:
    code = (
        "import gc\n"
        "from tasks import heap\n"
        "before = len(gc.get_objects())\n"
        "heap.settle()\n"
        "assert gc.get_freeze_count() >= before * 0.9, (gc.get_freeze_count(), before)\n"
        "assert len(gc.get_objects()) < before * 0.1\n"
        "assert gc.isenabled()\n"
        "class Cycle: pass\n"
        "a = Cycle(); a.me = a; del a\n"
        "assert gc.collect() >= 1\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
