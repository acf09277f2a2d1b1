"""captchaai-guard: stop CaptchaAI API keys from leaking through git.

The engine (``captchaai_guard.detect.engine``) and the scan drivers
(``captchaai_guard.scan``) are usable as a library without click.
"""

from __future__ import annotations

__version__ = "0.1.0"
PROJECT_URL = "https://github.com/captchaai/captchaai-guard"

__all__ = ["PROJECT_URL", "__version__"]
