"""Values derived from the config: the ``${...}`` resolvers its YAML files use, and the split fractions it implies.

The resolvers (registered by ``workflow.config.register``) make run names
(``${vectors_source:...}``, ``${label_budget_part:...}``,
``${embedding_scale_part:...}``, ``${ngrams_part:...}``: ``finetune-cnn3-glove.6B.100d-rownorm-ngramsfrozen-labels250-seed0``)
and paths (``${sample_data:}``, ``${local_dir:...}``, ``${package_wheel:}``).
"""

from __future__ import annotations

import os
import re
import tempfile
from importlib import resources
from typing import Any, Optional

from omegaconf import OmegaConf

from workflow import __version__
from workflow.config import CorpusFormat, EmbeddingMode, EmbeddingScale, SourceSplit

SAMPLE_ARCHIVE = "aclImdb_sample.tar.gz"
AUTO_TEST_FRACTION = 0.2


def carved_test_fraction(config: Any) -> float:
    """The share of train that becomes the test split.

    ``preprocess.test_fraction`` when set; otherwise 0.2 for a CSV/JSONL/text
    training file (such a corpus has no test split of its own) and 0 for
    aclImdb (which has one).
    """
    if config.preprocess.test_fraction is not None:
        return float(config.preprocess.test_fraction)
    own_test_split = (config.data.format in (CorpusFormat.aclimdb, "aclimdb") or config.data.split in (SourceSplit.test, "test")
                      or config.data.splits.test)
    return 0.0 if own_test_split else AUTO_TEST_FRACTION


def carved_validation_fraction(config: Any) -> float:
    """The share of train that becomes the validation split: none when ``data.splits`` names a validation file."""
    return 0.0 if config.data.splits.validation else float(config.preprocess.validation_fraction)


def sample_path() -> str:
    """Path of the bundled aclImdb sample shipped inside the package."""
    return str(resources.files("workflow") / "sample_data" / SAMPLE_ARCHIVE)


def vectors_source(vectors: Optional[str]) -> str:
    """A run-name part for the vector source: ``word2vec`` (trained here) or the imported file's name, e.g. ``glove.6B.100d``."""
    if not vectors:
        return "word2vec"
    name = os.path.basename(vectors.rstrip("/"))
    for suffix in (".gz", ".bin", ".txt", ".vec"):
        name = name.removesuffix(suffix)
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name) or "vectors"


def vector_sources(config: Any) -> list[Optional[str]]:
    """The vector sources a config compares: ``sweep.vectors``, or ``embedding.vectors`` alone (None: word2vec on the corpus).

    The embedding stage runs once per source, the training sweep crosses them with its other axes, and the report
    traces the first one's table before and after fine-tuning.
    """
    return list(config.sweep.vectors) if config.sweep.vectors is not None else [config.embedding.vectors]


def ngram_modes(config: Any) -> list[EmbeddingMode]:
    """The n-gram row modes a config compares: ``sweep.ngrams``, or ``embedding.ngrams`` alone."""
    modes = config.sweep.ngrams if config.sweep.ngrams is not None else [config.embedding.ngrams]
    return [EmbeddingMode(getattr(mode, "value", mode)) for mode in modes]


def pretrained_ngrams(config: Any) -> bool:
    """Whether a run of this config starts n-gram rows from the n-gram stage's vectors (so that stage must be up to date)."""
    return any(mode is not EmbeddingMode.random for mode in ngram_modes(config))


def ngrams_part(mode: Any) -> str:
    """A run-name part for pretrained n-gram rows (``-ngramsfrozen``, ``-ngramsfinetune``); nothing for random ones, the
    rows of every run from before the setting."""
    mode = str(getattr(mode, "value", mode))
    return "" if mode == EmbeddingMode.random.value else f"-ngrams{mode}"


def label_budget_part(budget: Optional[int]) -> str:
    """A run-name suffix for a label budget: ``-labels1000``, or nothing for all labels."""
    return "" if budget is None else f"-labels{budget}"


def embedding_scale_part(mode: Any, scale: Any, ngrams: Any = EmbeddingMode.random) -> str:
    """A run-name suffix for rescaled pretrained rows (``-rownorm``, ``-tablenorm``); nothing for the rows as trained, or
    when no pretrained rows are read (random token rows and random n-gram rows)."""
    scale = str(getattr(scale, "value", scale))
    modes = {str(getattr(mode, "value", mode)), str(getattr(ngrams, "value", ngrams))}
    return "" if scale == EmbeddingScale.as_trained.value or modes == {EmbeddingMode.random.value} else f"-{scale}norm"


def local_dir(workdir: str) -> str:
    """``workdir`` itself, or ``outputs/<scheme>/<bucket>/<path>`` for an object-store workdir: Hydra's logs are local files.

    A local workdir Hydra could not make its log folder in (a file, a read-only folder) gives the system's temporary
    folder instead, so that the command starts and says what is wrong with the workdir in one line
    (config_checks.require_writable_workdir) instead of Hydra's traceback.
    """
    scheme, separator, rest = workdir.partition("://")
    if separator:
        return os.path.join("outputs", scheme, rest.strip("/"))
    if unwritable_workdir(workdir) is not None:
        return os.path.join(tempfile.gettempdir(), "embedding-workflow", "unwritable-workdir")
    return workdir


def unwritable_workdir(workdir: str) -> str | None:
    """Why a local ``workdir`` cannot be written (or made), or None: checked on the folder, or on the nearest existing
    folder above it."""
    if os.path.lexists(workdir) and not os.path.isdir(workdir):
        return "is a file, not a folder"
    existing = os.path.abspath(workdir)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return f"cannot be made: {existing} is a file, not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"cannot be written: {existing} is read-only (a read-only filesystem, or no write permission)"
    return None


def package_wheel() -> str:
    """The wheel ``pip wheel --no-deps -w dist .`` builds of this version: what Dataflow's workers install."""
    return f"dist/embedding_workflow-{__version__}-py3-none-any.whl"


RESOLVERS = {
    "sample_data": sample_path,
    "vectors_source": vectors_source,
    "label_budget_part": label_budget_part,
    "embedding_scale_part": embedding_scale_part,
    "ngrams_part": ngrams_part,
    "local_dir": local_dir,
    "package_wheel": package_wheel,
}


def register() -> None:
    """Register every resolver of :data:`RESOLVERS` with OmegaConf (idempotent)."""
    for name, resolver in RESOLVERS.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)
