"""``python -m zmtp``: the ``zmtp`` command line (see :mod:`zmtp.cli`)."""

from __future__ import annotations

import sys

from zmtp.cli import main

sys.exit(main())
