"""How the ``guard`` process runs a command: the collector's thresholds, and the exit once the
output is out.

The console command (:func:`guard.cli.entry_point`) uses both. Tests call :func:`guard.cli.main`
in-process, where the exit would end the test run; the suite does tune the collector
(tests/conftest.py), and one test plans ``prod`` with Python's defaults to show it changes no
byte of the output.

Why, with figures from ``benchmarks/collector_strategies.py`` (each strategy's median against
Python's defaults in the same rounds, byte-identical output in all; README, "Performance"):

- The Pulumi SDK keeps many small objects alive per resource (futures, tasks, protobuf
  messages) until the plan ends, and each full collection of Python's cyclic collector walks
  all of them again, so its cost grows faster than the stack. Raised thresholds keep the young
  collections (cyclic garbage is still freed) and make the full ones rare. At 700 endpoints:
  0.56 of the default's time at 575 MiB peak, against 0.55 and 597 MiB with the collector off
  (every cycle kept) and 0.99 with ``gc.freeze()`` after the imports (pulumi_aws loads its
  service modules during the program, after any freeze). At 7 endpoints: 0.53, off 0.57.
- After the output is written, the interpreter would tear down objects nobody reads again:
  leaving without it alone is 0.79 of the default's time at 7 endpoints.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import sys
import threading
from typing import NoReturn

#: A young collection every 500,000 net allocations (Python's default: 700); a middle one every
#: 20 young ones, a full one every 20 middle ones (and only when a quarter of the heap is new).
COLLECTOR_THRESHOLDS = (500_000, 20, 20)


def tune_collector() -> None:
    """Make the cyclic collector's full passes rare for the rest of the process."""
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


def discard_stdout() -> None:
    """Point stdout at /dev/null: its reader left early (``guard plan | head``), and no later
    flush, ours or the interpreter's, may raise BrokenPipeError again."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def leave(code: int) -> NoReturn:
    """Exit with ``code`` once stdout and stderr are flushed, without tearing down the heap.

    Every file guard writes is closed by its own ``with`` block before a command returns; what
    is left is the interpreter's teardown of the heap. When a thread other than this one still
    runs (none should), the interpreter's own exit waits for it instead.
    """
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        discard_stdout()  # the command's exit code stands
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    logging.shutdown()
    others = [t for t in threading.enumerate() if t is not threading.current_thread()]
    if any(not t.daemon for t in others):
        sys.exit(code)
    os._exit(code)
