"""``python -m benign.bridge`` is the ``benign`` command."""

from benign.bridge.cli import main

raise SystemExit(main())
