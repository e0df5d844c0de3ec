"""Run the paragraph-vector stage: PV-DBOW over the training-side reviews, a vector inferred for every labelled review, a
logistic regression on the training reviews' vectors, its predictions; manifest last.

Output: ``<workdir>/paragraph_vectors/pv-dbow-seed<seed>/`` (layout.py), read
through ``ParagraphOutput`` (output.py). ``wf-paragraph-vectors`` brings it up
to date; benchmarks/paragraph_vectors.py averages its predictions with
finished runs' (validation; test only against a committed declaration).

What it learns from: the training reviews (the validation reviews carved out)
and the unlabelled ones, the text the vocabulary and word2vec learn from
too; the regression fits the training reviews' labels only. The validation
and test reviews get vectors inferred by the trained model, as the training
reviews do, and the regression's probabilities (their labels are copied into
the predictions files, for scoring).

Its cache key (:func:`key`): the ``paragraph_vectors`` section, the digests of
the vocabulary, the corpus, the examples and the films (they decide the
cross-validation folds), ``FORMAT_VERSION`` (output.py).
"""

from __future__ import annotations

import itertools
import logging
import os
import platform
import time

import gensim
import numpy as np

from workflow import __version__
from workflow.artifacts import current_version, file_sha256, is_local, read_manifest, staged_output, write_json
from workflow.caching import section
from workflow.config import Config, plain
from workflow.console import StageProgress
from workflow.errors import ContractError
from workflow.paragraphs import classifier, documents, pv_dbow
from workflow.paragraphs.layout import ParagraphLayout
from workflow.paragraphs.output import FORMAT_VERSION, NAME, STAGE, ParagraphOutput, paragraph_dir
from workflow.preprocess import output as preprocess_output
from workflow.preprocess.layout import SPLITS
from workflow.storage import LOCAL, Storage
from workflow.training import predictions
from workflow.training.layout import PREDICTED_SPLITS

log = logging.getLogger(__name__)


def key(config: Config, preprocess: preprocess_output.PreprocessOutput | None = None) -> dict:
    """What the paragraph vectors and the regression depend on (see the module docstring); ``preprocess``: the (pinned)
    preprocessing output to read, by default the current one."""
    preprocess = preprocess or preprocess_output.PreprocessOutput(config.workdir)
    return {"format_version": FORMAT_VERSION, "config": {"paragraph_vectors": section(config.paragraph_vectors)}, "inputs": inputs(preprocess)}


def inputs(preprocess: preprocess_output.PreprocessOutput) -> dict:
    """The digests of what the stage reads of the preprocessing output (films.tsv's: None for a corpus without films)."""
    films = preprocess.manifest["outputs"]["files"].get("films.tsv")
    return {"vocab_sha256": preprocess.vocab_sha256, "corpus_sha256": preprocess.corpus_sha256, "examples_sha256": preprocess.examples_sha256,
            "films_sha256": films["sha256"] if films else None}


def folder(config: Config) -> str:
    """The folder this stage publishes (and locks): one per ``paragraph_vectors.seed``."""
    return paragraph_dir(config.workdir, config.paragraph_vectors.seed)


def storage(config: Config) -> Storage:
    """The stage's files: a local workdir (the command requires one), so no store's options."""
    return LOCAL


def recorded_key(config: Config) -> dict | None:
    """The key the folder was made with (whatever its format); None when it never finished."""
    manifest = read_manifest(current_version(folder(config)))
    return None if manifest is None else manifest.get("key")


def summary(config: Config) -> str:
    """The stage line's account: ``validation accuracy 0.9088 (L2 10 by cross-validation over films: 0.9074)``."""
    manifest = ParagraphOutput(folder(config)).manifest
    scores = manifest["scores"]
    validation = f"validation accuracy {scores['validation_accuracy']:.4f}" if scores["validation_accuracy"] is not None else "no validation split"
    return f"{validation} (L2 {scores['l2']:g} by cross-validation over films: {scores['cross_validation_accuracy']:.4f})"


def run(config: Config, stage_key: dict | None = None) -> dict:
    """Paragraph vectors and the regression -> ``<workdir>/paragraph_vectors/pv-dbow-seed<seed>``; returns the manifest."""
    started = time.time()
    if not is_local(config.workdir):
        raise ContractError(f"workdir={config.workdir!r}: the paragraph-vector stage needs a local workdir (gensim reads local files)")
    settings = config.paragraph_vectors
    stage_key = stage_key or key(config)
    with preprocess_output.pinned(config.workdir) as preprocess, staged_output(folder(config), versioned=True) as staging:
        if inputs(preprocess) != stage_key["inputs"]:
            raise ContractError(f"{preprocess.layout.root}: preprocessing was published anew since this stage's key was computed: run it again")
        vocabulary = [token for token, _ in preprocess.vocabulary()]
        train = documents.labelled(preprocess, "train", vocabulary, settings.ngrams)
        if not train.doc_ids:
            raise ContractError(f"{preprocess.layout.root}: no training reviews to learn paragraph vectors and a regression from "
                                "(the corpus has no labelled training split)")

        training = time.time()
        model = pv_dbow.trained(itertools.chain(train.documents, documents.unlabelled(preprocess, set(vocabulary), settings.ngrams)), settings, staging,
                                config.terminal.progress)
        training = time.time() - training
        # The other splits are read after training (their documents would sit in memory beside it), and inferred after
        # the training reviews: gensim's inference draws from the model's random state, so the order is part of the result.
        splits = {"train": train, **{split: documents.labelled(preprocess, split, vocabulary, settings.ngrams) for split in SPLITS if split != "train"}}
        inferring = time.time()
        vectors: dict[str, np.ndarray] = {}
        with StageProgress(NAME, sum(len(found.doc_ids) for found in splits.values()), " reviews", config.terminal.progress) as progress:
            for split, found in splits.items():
                if found.doc_ids:
                    vectors[split] = pv_dbow.inferred(model, found.documents, progress, sum(len(v) for v in vectors.values()),
                                                      f"inferring the {split} reviews' vectors")
        inferring = time.time() - inferring
        del model

        units = [film or doc_id for film, doc_id in zip(preprocess.films(train.doc_ids), train.doc_ids)]  # a review alone where no film is known
        regression = classifier.trained(vectors["train"], train.labels, units, settings.seed)
        layout = ParagraphLayout(staging)
        files = {}
        for split, found in vectors.items():
            np.save(layout.vectors(split), found)
            files[os.path.basename(layout.vectors(split))] = file_sha256(layout.vectors(split))
        validation_accuracy = None
        for split in PREDICTED_SPLITS:
            if split in vectors:
                probabilities = regression.probability(vectors[split])
                found = splits[split]
                predictions.write(layout, split, found.doc_ids, found.labels, probabilities, preprocess.films(found.doc_ids))
                files[os.path.basename(layout.predictions(split))] = file_sha256(layout.predictions(split))
                if split == "validation":  # test is scored by a declared combination only (benchmarks/paragraph_vectors.py)
                    validation_accuracy = float(np.mean((probabilities > 0.5) == (found.labels > 0)))
        write_json(layout.classifier, regression.as_json())
        files[os.path.basename(layout.classifier)] = file_sha256(layout.classifier)
        manifest = {
            "stage": STAGE,
            "key": stage_key,
            "config": plain(config),
            "inputs": inputs(preprocess),
            "outputs": {"dim": settings.vector_size, "reviews": {split: len(found) for split, found in vectors.items()}, "files": files},
            "scores": {"validation_accuracy": validation_accuracy, "l2": regression.l2,
                       "cross_validation_accuracy": regression.cross_validation[regression.l2]},
            "durations_s": {"train": round(training, 2), "infer": round(inferring, 2), "total": round(time.time() - started, 2)},
            "versions": {"workflow": __version__, "python": platform.python_version(), "gensim": gensim.__version__, "numpy": np.__version__},
        }
        write_json(layout.manifest, manifest)
    log.info("paragraph-vector stage done in %.1f s -> %s", manifest["durations_s"]["total"], folder(config))
    return manifest
