"""A training run's identity, in one place: its cache key, its name, and the axes of the sweep that makes runs.

The stage (training/stage.py) keys and names a run with it, the sweep
(workflow/sweep.py) lists its jobs and their run folders, the report groups
runs by it (report/runs.py), serving and the tests name runs with it. It
imports no TensorFlow, Beam or Hydra: the sweep, the report and serving read
it in processes that may load none of them.

**The key** (:func:`key`) is what a run's result depends on: the embedding
mode; the model section and the trainer section (less their operational
settings: workflow/config.py's ``OPERATIONAL``); the seed; the global batch;
the digests of everything the run reads (:class:`RunInputs`); the format of
what it writes (training/layout.py's ``FORMAT_VERSION``); and the version of
the code it runs that no setting names (:class:`Code`). Its rules:

1. ``KEY_VERSION`` versions these rules. A change of them that cannot map an
   earlier key onto the new shape raises it, and every run trains again.
2. A setting added to the model or trainer section later is in every key
   computed since; a recorded key that lacks it matches a config that holds
   it at its default (workflow/caching.py ``with_later_settings``). So a
   new setting at its default re-uses every finished run, with no list to
   keep; a new setting must default to what runs did before it.
3. A setting that cannot act in a run stays out of its key: the row scale
   when no pretrained row is read (random token rows, random n-gram rows) or
   the rows are used as trained; the n-gram rows' mode and digest when they
   are random.
4. The version of a piece of code a run runs and no setting names enters the
   key of the runs that run it, and only theirs: the n-gram hashes with
   n-gram rows, the dense update (TensorFlow's fused Adam kernel since it
   replaced Keras's own update) with ``trainer.embedding_update=dense``. A
   run keyed before such an entry existed lacks it and trains again; a run
   that does not run that code keeps its key.

**The run name** (:func:`run_name`): ``trainer.run_name`` when set, otherwise
what the run trains and its seed, e.g.
``finetune-cnn3-glove.6B.100d-rownorm-ngramsfrozen-pv15-labels250-seed0``
(``pv15``: the paragraph vectors of ``paragraph_vectors.seed=15``), so that
runs of other modes, encoders, vectors, row scales, n-gram rows,
paragraph-vector seeds or budgets never share a folder.

**The sweep** (:func:`sweep_axes`): ``sweep.vectors x sweep.label_budgets x
sweep.ngrams x sweep.modes x sweep.seeds``, outermost first.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any, NamedTuple, Optional

from workflow.caching import section, why_outdated
from workflow.config import Config, EmbeddingMode, EmbeddingScale, EmbeddingUpdate, with_values
from workflow.embeddings.layout import source_name
from workflow.training.layout import FORMAT_VERSION

KEY_VERSION = 1  # the rules above; a key recorded before the key carried its version is of version 1
ARM = (("config", "embedding_mode"), ("config", "embedding_scale"), ("config", "seed"), ("config", "trainer", "label_budget"),
       ("inputs", "matrix_sha256"))  # what a report compares or averages over: the mode, its matrix and row scale, the budget, the seed


class RunInputs(NamedTuple):
    """The digests of what a run reads (the earlier stages' outputs), as its key records them."""

    examples_sha256: str  # every labelled example (train, validation, test)
    tokenizer: dict  # the tokenizer the exported serving model runs
    vocab_sha256: str
    matrix_sha256: Optional[str]  # the pretrained token rows; None in random mode
    ngram_rows_sha256: Optional[str]  # the pretrained n-gram rows; None when they are random
    embedding_dim: int
    paragraph_vectors_sha256: Optional[str] = None  # the document table's vectors; None without model.paragraph_vectors


class Code(NamedTuple):
    """What the code a run may run does, where no setting names it (rule 4): a description that changes with the code."""

    bigram_hash: str  # training/encoders.py HashedBigrams.HASH
    trigram_hash: str  # HashedTrigrams.HASH
    dense_update: str  # training/optimizer.py DENSE_UPDATE


# --------------------------------------------------------------------------- the key


def key(config: Config, inputs: RunInputs, global_batch_size: int, code: Code) -> dict:
    """What this run's result depends on (see the module docstring)."""
    random_tokens, random_ngrams = config.embedding.mode is EmbeddingMode.random, config.embedding.ngrams is EmbeddingMode.random
    return {
        "key_version": KEY_VERSION,
        "format_version": FORMAT_VERSION,
        "config": {
            "embedding_mode": config.embedding.mode.value,
            **({"embedding_scale": config.embedding.scale.value}
               if not random_tokens and config.embedding.scale is not EmbeddingScale.as_trained else {}),
            **({"embedding_ngrams": config.embedding.ngrams.value, "ngram_scale": config.embedding.scale.value} if not random_ngrams else {}),
            "model": section(config.model),
            "trainer": section(config.trainer),
            "seed": config.seed,
        },
        "inputs": {
            "examples_sha256": inputs.examples_sha256,
            "tokenizer": inputs.tokenizer,
            "vocab_sha256": inputs.vocab_sha256,
            "matrix_sha256": inputs.matrix_sha256,
            **({"ngram_rows_sha256": inputs.ngram_rows_sha256} if not random_ngrams else {}),
            **({"paragraph_vectors_sha256": inputs.paragraph_vectors_sha256} if config.model.paragraph_vectors else {}),
        },
        "embedding_dim": inputs.embedding_dim,
        "global_batch_size": global_batch_size,
        **({"bigram_hash": code.bigram_hash} if config.model.bigram_buckets else {}),
        **({"trigram_hash": code.trigram_hash} if config.model.trigram_buckets else {}),
        **({"dense_update": code.dense_update} if config.trainer.embedding_update is EmbeddingUpdate.dense else {}),
    }


def why_retrain(recorded: dict | None, run_key: dict, config: Config) -> str | None:
    """None when a run recorded with ``recorded`` is this run (``run_key``, computed from ``config``); otherwise why not."""
    if recorded is None:
        return why_outdated(None, run_key, config)
    return why_outdated({"key_version": 1, **recorded}, run_key, config)


def completed(recorded: dict) -> dict:
    """A recorded key in the shape of a key computed now at every default: its version, and the model and trainer settings
    added since it was written (rule 2). Runs that differ only in what earlier releases left out compare equal."""
    recorded = {"key_version": 1, **copy.deepcopy(recorded)}
    found = recorded.get("config", {})
    defaults = Config()
    for name in ("model", "trainer"):
        if isinstance(found.get(name), dict):
            found[name] = {**section(getattr(defaults, name)), **found[name]}
    return recorded


def configuration(recorded: dict) -> dict:
    """What a run's key holds beyond the report's axes (:data:`ARM`): runs whose configurations are equal belong in one table."""
    found = completed(recorded)
    for path in ARM:
        parent = found
        for part in path[:-1]:
            parent = parent.get(part, {})
        parent.pop(path[-1], None)
    return found


# --------------------------------------------------------------------------- the name


def _mode(value: Any) -> EmbeddingMode:
    return EmbeddingMode(getattr(value, "value", value))


def run_name(config: Any) -> str:
    """The run's folder name under ``<workdir>/runs``: ``trainer.run_name``, or what the run trains and its seed.

    ``config``: a ``Config``, or a config read back from a file (Hydra's saved ``.hydra/config.yaml``), whose enums are names.
    """
    if config.trainer.run_name:
        return config.trainer.run_name
    mode, ngrams = _mode(config.embedding.mode), _mode(config.embedding.ngrams)
    scale = EmbeddingScale(getattr(config.embedding.scale, "value", config.embedding.scale))
    reads_rows = mode is not EmbeddingMode.random or ngrams is not EmbeddingMode.random
    budget = config.trainer.label_budget
    return "".join([f"{mode.value}-{config.model.name}-{source_name(config.embedding.vectors)}",
                    f"-{scale.value}norm" if reads_rows and scale is not EmbeddingScale.as_trained else "",
                    "" if ngrams is EmbeddingMode.random else f"-ngrams{ngrams.value}",
                    f"-pv{config.paragraph_vectors.seed}" if getattr(config.model, "paragraph_vectors", False) else "",
                    "" if budget is None else f"-labels{budget}",
                    f"-seed{config.seed}"])


# --------------------------------------------------------------------------- the sweep


def vector_sources(config: Config) -> list[Optional[str]]:
    """The vector sources a config compares: ``sweep.vectors``, or ``embedding.vectors`` alone (None: word2vec on the corpus).

    The embedding stage runs once per source, the training sweep crosses them with its other axes, and the report
    traces the first one's table before and after fine-tuning.
    """
    return list(config.sweep.vectors) if config.sweep.vectors is not None else [config.embedding.vectors]


def ngram_modes(config: Config) -> list[EmbeddingMode]:
    """The n-gram row modes a config compares: ``sweep.ngrams``, or ``embedding.ngrams`` alone."""
    return list(config.sweep.ngrams) if config.sweep.ngrams is not None else [config.embedding.ngrams]


def pretrained_ngrams(config: Config) -> bool:
    """Whether a run of this config starts n-gram rows from the n-gram stage's vectors (so that stage must be up to date)."""
    return any(mode is not EmbeddingMode.random for mode in ngram_modes(config))


def sweep_axes(config: Config) -> list[tuple[str, list[Any]]]:
    """The swept settings and their values (typed), outermost first: the jobs cross them in this order.

    ``embedding.ngrams`` is an axis only when ``sweep.ngrams`` names its values; otherwise every job has the config's.
    """
    ngrams = [("embedding.ngrams", ngram_modes(config))] if config.sweep.ngrams is not None else []
    return [("embedding.vectors", vector_sources(config)), ("trainer.label_budget", list(config.sweep.label_budgets)), *ngrams,
            ("embedding.mode", list(config.sweep.modes)), ("seed", list(config.sweep.seeds))]


def sweep_jobs(config: Config) -> list[dict[str, Any]]:
    """Every job's swept values (``{"embedding.vectors": None, "trainer.label_budget": 250, ...}``), in the order of the jobs."""
    keys = [name for name, _ in sweep_axes(config)]
    return [dict(zip(keys, values)) for values in itertools.product(*(values for _, values in sweep_axes(config)))]


def job_config(config: Config, job: dict[str, Any]) -> Config:
    """The config of one job of the sweep: ``config`` with the job's values."""
    return with_values(config, job)


def sweep_run_names(config: Config) -> list[str]:
    """The run folder of every job of the sweep, in the order of the jobs."""
    return [run_name(job_config(config, job)) for job in sweep_jobs(config)]
