"""``python -m agentical_repo``: the same command as the ``agentical-repo`` console script."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
