"""Flink and Spark on this machine, for Beam jobs: installed once (``wf-cluster fetch``), started and stopped by command.

The same code starts a cluster for a user (``wf-cluster flink up``) and for
the tests. Nothing here imports Beam or TensorFlow at module level: the
command answers in a fraction of a second.
"""
