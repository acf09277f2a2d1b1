"""Commands: the command line in, exit codes out.

The click group and its commands (:mod:`.cli`, :mod:`.audit`,
:mod:`.baseline`, :mod:`.fix`, :mod:`.rules`, :mod:`.install`), the console
scripts (:mod:`.console` for ``captchaai-guard``, :mod:`.hook` for the git and
pre-commit hooks) and the click-free scan runner (:mod:`.scan`: a request
in, a report written, 0 clean / 1 findings / 2 error). The hook and a plain
``captchaai-guard scan`` never import click; everything else here may use
any earlier stage.
"""
