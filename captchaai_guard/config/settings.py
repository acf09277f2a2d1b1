"""The configuration and baseline of a repository, loaded one way for every command.

``scan``, ``audit``, ``fix`` and ``baseline`` all start from :func:`load`:
the configuration file (``--config PATH`` or the repository's own), the
engine and path filter built from it, and the baseline (``--baseline PATH``,
the repository's baseline file, or none). No click here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import NamedTuple

# config.baseline names the same file (a test keeps them equal)
BASELINE_FILE = ".captchaai-guard-baseline.json"

TYPE_CHECKING = False  # names for annotations only, not imported at run time
if TYPE_CHECKING:
    from pathlib import Path

    from captchaai_guard.config.baseline import Baseline
    from captchaai_guard.config.project import Config, PathFilter
    from captchaai_guard.detect.engine import Engine
    from captchaai_guard.findings import Finding


class Settings(NamedTuple):
    """A NamedTuple, not a dataclass: ``dataclasses`` (and the ``inspect``
    module it pulls in) cost a scan more than the rest of this module."""

    config: Config
    engine: Engine
    include: PathFilter | None
    baseline: Baseline | None

    def accepted(self, findings: Sequence[Finding]) -> tuple[list[Finding], int]:
        """The findings the baseline does not hold, and how many it held."""
        if self.baseline is None:
            return list(findings), 0
        kept = self.baseline.filter(findings)
        return kept, len(findings) - len(kept)


def load(
    root: str | Path | None,
    config_path: str | Path | None = None,
    baseline_path: str | Path | None = None,
    use_baseline: bool = True,
) -> Settings:
    """Settings for the repository at ``root`` (None: outside one, only
    ``config_path`` is read). Any problem is a GuardError."""
    from captchaai_guard.config import project as config

    loaded = config.load(root, config_path)
    accepted: Baseline | None = None
    # captchaai_guard.config.baseline (json, datetime) is imported only when there is one to read.
    path = baseline_path
    if path is None and root is not None and os.path.isfile(os.path.join(root, BASELINE_FILE)):
        path = os.path.join(root, BASELINE_FILE)
    if use_baseline and path is not None:
        from pathlib import Path

        from captchaai_guard.config import baseline

        accepted = baseline.load(Path(path))
    return Settings(config=loaded, engine=loaded.engine(), include=loaded.include(), baseline=accepted)
