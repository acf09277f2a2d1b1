"""Sources: git and other inputs in, the added lines that could hold a key out.

Enters: a repository (its index, a commit range, files) or a unified diff
on standard input. Leaves: parser events (:mod:`.diff`): a file opened
(:class:`~.diff.DiffFile`), an added line that could hold a key
(:class:`~.diff.AddedLine`), a file ended; and, for history, the commit
each came from (:class:`~.commit.Commit`).

* :mod:`.gitargs` the git command line and environment every scan uses;
* :mod:`.gitio` running git, its errors, blobs read on demand;
* :mod:`.repository` the repository of ``audit``, ``fix``, ``baseline`` and
  ``install --recurse-submodules``, found with GitPython (never imported by
  a scan);
* :mod:`.prestart` git started before the scan modules are imported (the
  hook's fast path hands it on), child processes, temporary files;
* :mod:`.diff` the streaming parser of git's diff;
* :mod:`.added_files` a large staged diff's added files read from the work
  tree instead of from git's diff;
* :mod:`.split_parse` the end of a large diff parsed by a forked child;
* :mod:`.commit` where a finding came from in history.

Which of these a scan uses is decided in one place,
:func:`captchaai_guard.scan._route`. The scan hands the parser its
prefilter (:class:`captchaai_guard.detect.candidates.Finder`: which lines
could hold a key); nothing here imports detection.
"""
