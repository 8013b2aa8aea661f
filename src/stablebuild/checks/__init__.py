"""Checks: pure functions that judge one image's probe facts, metadata and runtime trial.

`judging.judge` is the one entry point; each family lives in its own module. This package
imports none of them: `checks.inputs` and the like load without the checks themselves. No
check passes without evidence: a section the spec asks for and the facts lack is an ERROR, a
judgment that could not be made here (no GPU, no dpkg) is SKIPPED with the reason. When the
probe could not start, the interpreter's files (`InterpreterFacts`) may name the root cause:
one FAILED check, and the checks the probe would have fed are SKIPPED because of it.
"""
