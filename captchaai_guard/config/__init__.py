"""Configuration: a repository's settings in, an engine, a path filter and a baseline out.

Enters: ``.captchaai-guard.toml`` or ``[tool.captchaai-guard]`` in
``pyproject.toml`` (:mod:`.project`, located by :mod:`.locate`), a baseline
file (:mod:`.baseline`). Leaves: :class:`~.settings.Settings`: the
:class:`~captchaai_guard.detect.engine.Engine` with custom rules and
allowlists, the path filter, the accepted findings. No click here.
"""
