"""What the Embedding layer learned, answered from one workdir's own data and runs.

* one test review -> tokens -> ids -> the first values of their rows;
* the lookup equals one-hot x matrix on a batch (max difference);
* how many rows fine-tuning moved, split by whether the token ever occurred
  in the labelled training data (Adam leaves rows without gradient alone);
* nearest neighbours of probe words before (word2vec) and after fine-tuning;
* test accuracy per mode, bucketed by the share of a review's tokens that
  never occurred in the labelled training data (``<unk>`` included), for
  every label budget (a smaller budget has seen fewer tokens).
"""

from __future__ import annotations

import keras
import numpy as np

from workflow.preprocess.layout import UNK_ID
from workflow.preprocess.output import PreprocessOutput
from workflow.report.runs import FinishedRun, mode_rank
from workflow.training import data
from workflow.training.model import EMBEDDING_LAYER, embedding_matrix, load_classifier, tokens_input
from workflow.training.scale import rescale

UNSEEN_BUCKETS = ((0.0, 0.01), (0.01, 0.02), (0.02, 0.05), (0.05, 1.01))
NO_LIMIT = 1 << 30


def split_reviews(preprocess: PreprocessOutput, split: str, label_budget: int | None = None) -> tuple[list[np.ndarray], np.ndarray]:
    """Every review of a split (or of a label budget's subset of it) as (token ids, labels), in file order, untruncated."""
    files = preprocess.example_files(split)
    threshold = None if label_budget is None else data.budget_threshold(files, label_budget)[0]
    tokens, labels = [], []
    for ids, label in data.split_examples(files, NO_LIMIT, threshold):
        tokens.append(ids.numpy())
        labels.append(float(label))
    return tokens, np.array(labels)


def seen_in_labelled_training(reviews: list[np.ndarray], vocabulary_size: int) -> np.ndarray:
    """Boolean ``[vocab]``: the id occurs in at least one labelled training review (never ``<unk>``)."""
    seen = np.zeros(vocabulary_size, dtype=bool)
    for ids in reviews:
        seen[ids] = True
    seen[UNK_ID] = False
    return seen


def trace_review(ids: np.ndarray, vocabulary: list[str], table: np.ndarray, count: int, dims: int = 4) -> list[dict]:
    return [{"token": vocabulary[i], "id": int(i), "row": [round(float(v), 4) for v in table[i, :dims]]} for i in ids[:count]]


def one_hot_check(model, batch: np.ndarray) -> float:
    """Max |what the trained classifier's Embedding layer outputs - one_hot(ids) @ W in NumPy| over a ``[batch, time]`` id array.

    The layer's output is taken inside the exported classifier (a sub-model
    ending at the Embedding layer); the product is plain NumPy on the exported
    table, so the two sides share no code.
    """
    table = embedding_matrix(model)
    layer_output = keras.Model(tokens_input(model), model.get_layer(EMBEDDING_LAYER).output)(batch)
    one_hot = (batch[..., None] == np.arange(table.shape[0])).astype(np.float32)  # [batch, time, vocab]; np.eye(vocab) would be vocab^2
    return float(np.abs(keras.ops.convert_to_numpy(layer_output) - one_hot @ table).max())


def moved_rows(before: np.ndarray, after: np.ndarray, seen: np.ndarray) -> dict:
    moved = np.any(before != after, axis=1)
    unseen = ~seen
    unseen[[0, UNK_ID]] = False  # <pad> is masked; <unk> stands for many tokens and is in every split
    return {
        "seen_tokens": int(seen.sum()), "seen_moved": int((moved & seen).sum()),
        "unseen_tokens": int(unseen.sum()), "unseen_moved": int((moved & unseen).sum()),
        "mean_shift_seen": float(np.linalg.norm(after - before, axis=1)[seen].mean()) if seen.any() else 0.0,
    }


def neighbours(table: np.ndarray, vocabulary: list[str], words: list[str], count: int) -> dict[str, list[str] | None]:
    """Cosine nearest neighbours of each word (None when out of vocabulary); <pad> and <unk> excluded."""
    normed = table / np.maximum(np.linalg.norm(table, axis=1, keepdims=True), 1e-12)  # once for every word
    index_of = {token: index for index, token in enumerate(vocabulary)}
    found: dict[str, list[str] | None] = {}
    for word in words:
        if word not in index_of:
            found[word] = None
            continue
        similarity = normed @ normed[index_of[word]]
        similarity[[0, UNK_ID, index_of[word]]] = -np.inf
        found[word] = [vocabulary[i] for i in np.argsort(-similarity)[:count]]
    return found


def test_reviews_by_id(preprocess: PreprocessOutput) -> dict[str, np.ndarray]:
    """Every test review's untruncated token ids by its doc id, in file order."""
    files = preprocess.example_files("test")
    if not files:
        return {}
    return {doc_id: tokens for doc_id, tokens, _ in data.reviews(files)}


def accuracy_by_unseen_share(runs: list[FinishedRun], test_reviews: dict[str, np.ndarray], seen: np.ndarray) -> dict | None:
    """Per bucket of unseen-token share: review count and each arm's test accuracy (mean over its seeds; one column per
    arm and configuration, see FinishedRun.label), from the test predictions each run stored when it was tested. A run
    that never scored test (``trainer.score_test=false``: its settings are still being chosen) stored none and is left
    out, so the report never scores test for it; None when no run did."""
    scored = [(run, found) for run in runs if (found := run.output.predictions("test")) is not None]
    if not scored:
        return None
    doc_ids = scored[0][1].doc_ids
    shares = np.array([float(np.mean(~seen[ids])) if len(ids) else 0.0 for ids in (test_reviews[doc_id] for doc_id in doc_ids)])
    buckets = [{"range": f"{low:.0%}-{min(high, 1):.0%}", "mask": (shares >= low) & (shares < high)} for low, high in UNSEEN_BUCKETS]
    per_mode: dict[str, list[np.ndarray]] = {}
    for run, found in scored:
        if not np.array_equal(found.doc_ids, doc_ids):
            raise ValueError(f"{run.root}: its test predictions are of other reviews than {scored[0][0].root}'s")
        per_mode.setdefault(run.label, []).append(found.correct)  # never averaged across configurations
    order = sorted(per_mode, key=lambda label: (mode_rank(label), label))
    per_mode = {mode: per_mode[mode] for mode in order}
    result = []
    for bucket in buckets:
        mask = bucket["mask"]
        entry = {"unseen_share": bucket["range"], "reviews": int(mask.sum())}
        for mode, outcomes in per_mode.items():
            entry[mode] = float(np.mean([o[mask].mean() for o in outcomes])) if mask.any() else None
        result.append(entry)
    return {"buckets": result, "mean_unseen_share": float(shares.mean())}


def explain(preprocess: PreprocessOutput, vocabulary: list[str], pretrained: np.ndarray | None, vectors: str, runs: list[FinishedRun],
            probes: list[str], neighbour_count: int, example_tokens: int) -> dict:
    """Everything the report's "What the Embedding layer learned" section shows, as plain data (``vocabulary``: tokens by id;
    ``pretrained``: the matrix of the vector source ``vectors`` as trained, whose fine-tuned run is traced from where it
    started: that matrix at the run's ``embedding.scale``)."""
    budgets: dict[int, list[FinishedRun]] = {}
    for run in runs:
        budgets.setdefault(run.labelled, []).append(run)
    most = max(budgets, default=0)  # the runs with every label (or the largest budget): the main answer
    test_by_id = test_reviews_by_id(preprocess)
    test_reviews = list(test_by_id.values())
    seen_per_budget = {}
    for labelled, group in budgets.items():
        train_reviews, _ = split_reviews(preprocess, "train", group[0].metrics.label_budget)
        seen_per_budget[labelled] = seen_in_labelled_training(train_reviews, len(vocabulary))
    seen = seen_per_budget.get(most, np.zeros(len(vocabulary), dtype=bool))
    finetuned = next((run for run in budgets.get(most, []) if run.mode == "finetune" and run.vectors == vectors), None)
    result: dict = {"vocabulary_size": len(vocabulary), "labelled_training_reviews": most}
    if finetuned is not None:
        model = load_classifier(finetuned.output.classifier)
        after = embedding_matrix(model)
        start = None if pretrained is None else rescale(pretrained, finetuned.row_scale)  # the table the run started from
        example = test_reviews[0] if test_reviews else train_reviews[0]
        result["run"] = finetuned.name
        result["example"] = {"before": trace_review(example, vocabulary, start, example_tokens) if start is not None else None,
                             "after": trace_review(example, vocabulary, after, example_tokens)}
        batch = np.zeros((min(8, len(test_reviews)), 32), dtype=np.int32)
        for row, ids in enumerate(test_reviews[: len(batch)]):
            batch[row, : min(32, len(ids))] = ids[:32]
        result["one_hot_max_difference"] = one_hot_check(model, batch)
        result["one_hot_batch_shape"] = list(batch.shape)
        if start is not None:
            result["moved"] = moved_rows(start, after, seen)
            before = neighbours(start, vocabulary, probes, neighbour_count)
            after_tuning = neighbours(after, vocabulary, probes, neighbour_count)
            result["neighbours"] = {word: {"before": before[word], "after": after_tuning[word]} for word in probes}
    by_share = accuracy_by_unseen_share(budgets[most], test_by_id, seen) if test_by_id and runs else None
    if by_share is not None:
        result["accuracy_by_unseen_share"] = by_share
        per_budget = [(labelled, accuracy_by_unseen_share(budgets[labelled], test_by_id, seen_per_budget[labelled]))
                      for labelled in sorted(budgets) if labelled != most]
        result["accuracy_by_unseen_share_per_budget"] = [{"labelled_reviews": labelled, **found} for labelled, found in per_budget if found]
    return result
