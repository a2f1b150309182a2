"""Pulumi entry point: load the validated stack config and declare the stack (see guard.program)."""

import sys

from guard.config import ConfigError
from guard.program import main

try:
    main()
except ConfigError as error:
    # A config error is the user's to fix: say what and where, without a traceback.
    print(error.render(), file=sys.stderr)
    sys.exit(2)
