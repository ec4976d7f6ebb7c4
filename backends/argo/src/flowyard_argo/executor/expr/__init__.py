"""Argo's expression language (expr-lang with Argo's functions) for the executor.

``tags`` replaces a ``{{=...}}`` tag, ``parser``/``evaluate`` hold the language subset, ``check`` the refusals made
before a run.
"""
