"""What the report writes: the file names of ``<workdir>/report/`` (a real folder, swapped whole: workflow/artifacts.py)::

    results.md              per configuration: summary per arm (mode, and vector source when several; mean ± std), the modes'
                            paired differences with their intervals (over seeds; over test films or reviews, given the
                            trained models: statistics.py); every run, record counts, what the Embedding learned
    results.csv             one row per run
    learning_curves.png     loss and accuracy per epoch, every run
    accuracy_per_mode.png   test accuracy per mode, mean ± std and each seed, beside the paired differences with their
                            intervals (accuracy_per_mode-<k>.png per configuration k when several)
    accuracy_per_label_budget.png   test accuracy against labelled reviews, one line per mode, beside each paired
                            difference with its 95% band over seeds (label-budget sweeps; -<k> likewise)
    insight.json            the data behind "What the Embedding layer learned"
    projector/              TensorBoard projector: the first source's vectors and each arm's trained table, with metadata
                            columns to colour them by (polarity, in labelled training, moved: projector.py)
    manifest.json           per configuration, the summary (with each arm's 95% t-interval over seeds), budgets and
                            comparisons; the failed runs (written last)

People and TensorBoard read these; code reads the report through ``ReportOutput`` (output.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from workflow.artifacts import MANIFEST, StageFile, join

STAGE = "report"


@dataclass(frozen=True)
class ReportLayout:
    """File names inside one report folder (final or staging)."""

    root: str
    results_md = StageFile("results.md")
    results_csv = StageFile("results.csv")
    learning_curves = StageFile("learning_curves.png")
    insight = StageFile("insight.json")
    projector = StageFile("projector")
    manifest = StageFile(MANIFEST)

    @staticmethod
    def figure(kind: str, configuration: int | None = None) -> str:
        """A figure's file name, relative to the folder (results.md links it): ``accuracy_per_mode.png``, or
        ``accuracy_per_mode-2.png`` for configuration 2 of several (``configuration``: None when there is one)."""
        return f"{kind}{'' if configuration is None else f'-{configuration}'}.png"

    def figure_path(self, name: str) -> str:
        return join(self.root, name)
