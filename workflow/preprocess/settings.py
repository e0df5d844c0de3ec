"""What the Beam job needs of the config, as plain values: all a worker is handed.

The driver builds these from the typed config (preprocess/stage.py); the
readers, the read tasks and the pipeline get nothing else. A Beam worker
unpickles every DoFn with what it holds and imports the modules they name:
the config's own dataclasses would bring Hydra and OmegaConf into every
worker, these bring nothing (tests/unit/test_worker_imports.py proves it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from workflow.preprocess.layout import SPLITS, UNSUP
from workflow.text import Tokenizer

ACLIMDB, CSV, JSONL, TEXT = "aclimdb", "csv", "jsonl", "text"  # the values of data.format


def _value(member: Any) -> str:
    """An enum member's value (a typed config), or the string itself (a DictConfig that holds it as a string)."""
    return str(getattr(member, "value", member))


@dataclass(frozen=True)
class CorpusSettings:
    """The ``data`` section as the readers use it: which files, in which format, with which fields."""

    format: str  # ACLIMDB, CSV, JSONL or TEXT
    path: str  # a file, a folder or a glob
    split: str = "train"  # the split a CSV/JSONL/text data.path holds
    text_field: str = "text"
    label_field: str = "label"
    id_field: Optional[str] = None
    rating_field: Optional[str] = None
    csv_delimiter: str = ","
    unlabelled: tuple[str, ...] = ()  # extra plain-text globs for the training side
    splits: tuple[tuple[str, str], ...] = ()  # (split, path or glob) for each file data.splits names

    @classmethod
    def of(cls, data: Any) -> "CorpusSettings":
        """From the config's ``data`` section (the typed ``DataConfig`` or a DictConfig), on the driver."""
        from workflow.config import csv_delimiter  # the driver's schema module: imported here, so a worker never loads it

        return cls(format=_value(data.format), path=str(data.path), split=_value(data.split), text_field=data.text_field,
                   label_field=data.label_field, id_field=data.id_field, rating_field=data.rating_field,
                   csv_delimiter=csv_delimiter(data.csv_delimiter), unlabelled=tuple(data.unlabelled),
                   splits=tuple((split, getattr(data.splits, split)) for split in (*SPLITS, UNSUP) if getattr(data.splits, split)))


@dataclass(frozen=True)
class JobSettings:
    """Everything the preprocessing job reads of the config (``data`` and ``preprocess``)."""

    corpus: CorpusSettings
    tokenizer: Tokenizer
    label_map: tuple[tuple[str, int], ...]  # raw label -> 0/1
    min_count: int
    max_size: int
    read_parallelism: int
    block_bytes: int  # of the byte ranges an uncompressed JSONL or text file is read in
    validation_fraction: float  # of train, carved out by fingerprint (config.carved_validation_fraction)
    test_fraction: float  # likewise (config.carved_test_fraction)

    @classmethod
    def of(cls, config: Any, validation_fraction: float, test_fraction: float) -> "JobSettings":
        """From the typed config (or a DictConfig), with the fractions the driver derived from it."""
        pre, tokenizer = config.preprocess, config.preprocess.tokenizer
        return cls(
            corpus=CorpusSettings.of(config.data),
            tokenizer=Tokenizer(pattern=tokenizer.pattern, lowercase=tokenizer.lowercase, strip_html=tokenizer.strip_html),
            label_map=tuple((str(label), int(value)) for label, value in config.data.label_map.items()),
            min_count=pre.min_count,
            max_size=pre.max_size,
            read_parallelism=pre.read_parallelism,
            block_bytes=max(1, int(pre.read_block_mb * 2**20)),
            validation_fraction=validation_fraction,
            test_fraction=test_fraction,
        )
