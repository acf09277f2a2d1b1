"""Detection: candidate lines in, decided key matches out.

Enters: the added lines the sources found (text, path, line number) and,
on demand, the file around them. Leaves: :class:`~captchaai_guard.findings.Finding`
objects, and for ``scan --explain`` one record per candidate.

* :mod:`.candidates` the byte-level prefilter: which lines hold a run of 32
  that could be a key (and settles the ones that plainly are not);
* :mod:`.rules` the built-in rules, as data (id, regex, samples);
* :mod:`.evidence` words and patterns for and against a candidate, as data;
* :mod:`.filters` named predicates that drop placeholders and test vectors;
* :mod:`.engine` a line in, rule matches and open candidates out;
* :mod:`.decide` one candidate weighed against the evidence of its line,
  the lines around it and its file;
* :mod:`.judge` a whole scan's candidates: files, halves of a key, binary
  files, the same value seen again;
* :mod:`.custom_regex` user-supplied regexes (custom rules, allow patterns) compiled by RE2;
* :mod:`.verify` opt-in live check of a found key against CaptchaAI.

Usable as a library without click; imports nothing from the later stages.
"""
