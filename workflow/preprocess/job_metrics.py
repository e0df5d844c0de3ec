"""Beam Metrics counters of records read, written and rejected per split: what Dataflow's and Flink's UIs show while a job runs.

stats.json gives the same numbers once the job is done; the counters make them
visible during the job, on any runner. Each read task adds its counts when it
ends (one increment per split and outcome, not one per record).
"""

from __future__ import annotations

from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.runners.runner import PipelineResult

NAMESPACE = "preprocess"
OUTCOMES = ("read", "written", "rejected")


def counter_name(split: str, outcome: str) -> str:
    """``"train_records_read"``: the name a runner's UI lists."""
    return f"{split}_records_{outcome}"


def add(split: str, outcome: str, records: int) -> None:
    """Count ``records`` of ``split`` as read, written or rejected (inside a DoFn)."""
    if records:
        Metrics.counter(NAMESPACE, counter_name(split, outcome)).inc(records)


def job_counters(result: PipelineResult) -> dict[str, int]:
    """``{counter name: value}`` of a finished job (committed values where the runner has them)."""
    found = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]
    totals: dict[str, int] = {}
    for metric in found:  # one entry per step that counted: summed by name
        value = metric.committed if metric.committed is not None else metric.attempted
        totals[metric.key.metric.name] = totals.get(metric.key.metric.name, 0) + int(value)
    return dict(sorted(totals.items()))
