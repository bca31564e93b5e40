"""``python -m tests.pinned MOMENT MODULE [ARGS...]``: ``python -m MODULE ARGS`` with the whole
process's clock at ``MOMENT`` (ISO 8601, ticking on from there), as the tests' own clock is
(``tests/clock.py``). For the processes a test starts that must share its calendar: the sandbox
server and the ``flask`` commands of ``tests/engine/test_processes.py``.
"""

from __future__ import annotations

import runpy
import sys
from datetime import datetime

import time_machine


def main() -> None:
    moment, module, *args = sys.argv[1:]
    sys.argv = [module, *args]
    time_machine.travel(datetime.fromisoformat(moment), tick=True).start()
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
