"""The one way to read what the report wrote: ``ReportOutput(workdir)`` (as ``PreprocessOutput`` for preprocessing).

``<workdir>/report/manifest.json`` holds, per configuration, the summary the
results table shows (mode, labelled reviews, runs, seeds, test accuracy as
mean and std over seeds and its 95% t-interval), the comparisons between
modes and the runs that failed; ``results.md`` is the same for a person.
"""

from __future__ import annotations

from functools import cached_property

from workflow.artifacts import MANIFEST, read_manifest, stage_dir
from workflow.errors import ContractError
from workflow.report.layout import STAGE, ReportLayout
# What the report's manifest holds: bump it with any change to its outputs' meaning. 2: summary entries carry
# test_accuracy_interval; the manifest says its format. 3: a comparison's bootstrap says what it resampled (films or
# reviews), its seeds_needed is an estimate with a range.
FORMAT_VERSION = 3


def folder(workdir: str) -> str:
    """``<workdir>/report``."""
    return stage_dir(workdir, STAGE)


class ReportOutput:
    """A finished report (ContractError, naming the command to run, when there is none or it is of another format)."""

    def __init__(self, workdir: str):
        self.layout = ReportLayout(folder(workdir))

    @property
    def results_md(self) -> str:
        return self.layout.results_md

    @cached_property
    def manifest(self) -> dict:
        manifest = read_manifest(self.layout.root)
        if manifest is None:
            raise ContractError(f"no finished report in {self.layout.root} (no {MANIFEST}): run wf-report first")
        if manifest.get("format_version") != FORMAT_VERSION:
            raise ContractError(f"{self.layout.manifest} is in report format {manifest.get('format_version')}, this code reads "
                                f"format {FORMAT_VERSION}: re-run wf-report")
        return manifest

    def configurations(self) -> list[dict]:
        """Per configuration: ``{"number", "differs_in": {config path: value}, "summary": [entry, ...], "label_budgets",
        "comparisons"}``; a summary entry is ``{"mode", "vectors", "labelled_reviews", "runs", "seeds", "test_accuracy":
        [mean, std] | None, "test_accuracy_interval": [low, high] | None (one seed: None), ...}``."""
        return self.manifest["outputs"]["configurations"]
