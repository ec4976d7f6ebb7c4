"""The machinery a runner needs, whatever engine it drives: the local backend is built on it.

One concept per module: :mod:`~flowyard.execution.journal` (the run journal's writer, committed in
bounded windows), :mod:`~flowyard.execution.pool` (worker threads under a global and a per-group
limit), :mod:`~flowyard.execution.processes` (process groups, the watchdog, the sweep of a run's
processes), :mod:`~flowyard.execution.logfiles` (logs read and masked in bounded memory, captured
output), :mod:`~flowyard.execution.streams` (a thread's ``print`` to its task's log, no one else's)
and :mod:`~flowyard.execution.progress` (plain or live progress over neutral step rows).
"""
