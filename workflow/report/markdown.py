"""results.md: the tables, the figures and the "What the Embedding layer learned" section."""

from __future__ import annotations

from workflow.report.tables import label_budget_markdown, runs_markdown, summary_markdown


def _word_list(words: list[str] | None) -> str:
    return ", ".join(words) if words else "(not in vocabulary)"


def _records(stats: dict) -> str:
    lines = ["| split | read | written | rejected |", "|---|---|---|---|"]
    for split, row in stats["splits"].items():
        lines.append(f"| {split} | {row['records_read']:,} | {row['records_written']:,} | {row['records_rejected']:,} |")
    totals = stats["totals"]
    balanced = totals["records_read"] == totals["records_written"] + totals["records_rejected"]
    lines.append(f"\nRecords read = written + rejected: {totals['records_read']:,} = {totals['records_written']:,} + "
                 f"{totals['records_rejected']:,} ({'holds' if balanced else 'DOES NOT HOLD'}); the rejected records and their "
                 "reasons are in preprocess/rejected/.")
    return "\n".join(lines)


def _example(explained: dict) -> str:
    example = explained["example"]
    before = example["before"] or [None] * len(example["after"])
    lines = ["| token | id | row where fine-tuning started (word2vec at its embedding.scale), first 4 values | row after fine-tuning |", "|---|---|---|---|"]
    for old, new in zip(before, example["after"]):
        lines.append(f"| `{new['token']}` | {new['id']} | {old['row'] if old else '-'} | {new['row']} |")
    return "\n".join(lines)


def _insight(explained: dict) -> str:
    parts = ["## What the Embedding layer learned", ""]
    if "example" in explained:
        parts += [
            f"**A lookup table.** The Embedding layer maps token id *i* to row *i* of a {explained['vocabulary_size']:,} x dim "
            f"matrix. The first test review, tokenised by the same tokenizer as the Beam job, through run `{explained['run']}`:",
            "", _example(explained), "",
            f"**The same as one-hot x matrix.** On a batch of shape {explained['one_hot_batch_shape']}, the largest difference "
            f"between `Embedding(ids)` and `one_hot(ids) @ W` is {explained['one_hot_max_difference']:.2e}: the layer is a "
            "matrix product with one-hot rows, computed as a gather.", "",
        ]
    if "moved" in explained:
        moved = explained["moved"]
        parts += [
            f"**What fine-tuning moved.** Of the {moved['seen_tokens']:,} tokens that occur in the "
            f"{explained['labelled_training_reviews']:,} labelled training reviews, {moved['seen_moved']:,} rows moved "
            f"(mean shift {moved['mean_shift_seen']:.3f}); of the {moved['unseen_tokens']:,} tokens that never occur there "
            f"(they are in the vocabulary through unlabelled text), {moved['unseen_moved']:,} moved. A row only gets a "
            "gradient when its token is in a batch, so fine-tuning leaves the (rescaled) word2vec vectors of every other token "
            "as they were: at test time those tokens keep their pretrained meaning, while the tokens around them have shifted.", "",
            "**Nearest neighbours (cosine), before and after fine-tuning.**", "",
            "| word | before (word2vec) | after fine-tuning |", "|---|---|---|",
        ]
        for word, pair in explained["neighbours"].items():
            parts.append(f"| `{word}` | {_word_list(pair['before'])} | {_word_list(pair['after'])} |")
        parts.append("")
    if "accuracy_by_unseen_share" in explained:
        parts += [
            "**Accuracy by the share of a review's tokens never seen in labelled training data** (`<unk>` included). This is "
            "where pretrained vectors can help: random initialisation knows nothing about those tokens.", "",
            _unseen_share_table(explained["accuracy_by_unseen_share"], explained["labelled_training_reviews"]),
        ]
        for per_budget in explained.get("accuracy_by_unseen_share_per_budget", []):
            parts.append(_unseen_share_table(per_budget, per_budget["labelled_reviews"]))
    return "\n".join(parts)


def _unseen_share_table(by_share: dict, labelled: int) -> str:
    modes = [key for key in by_share["buckets"][0] if key not in ("unseen_share", "reviews")]
    lines = [f"With {labelled:,} labelled training reviews (mean unseen share {by_share['mean_unseen_share']:.1%}):", "",
             "| unseen share | reviews | " + " | ".join(modes) + " |", "|---|---|" + "---|" * len(modes)]
    for bucket in by_share["buckets"]:
        cells = ["n/a" if bucket[mode] is None else f"{bucket[mode]:.4f}" for mode in modes]
        lines.append(f"| {bucket['unseen_share']} | {bucket['reviews']:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _failed(failed: list[dict]) -> list[str]:
    if not failed:
        return []
    lines = ["## Failed runs", "", "These training jobs did not finish; the tables above cover the others.", "",
             "| run | log |", "|---|---|"]
    lines += [f"| `{job['run']}` | `{job['log']}` |" for job in failed]
    return lines + [""]


def _block(block: dict, level: str) -> list[str]:
    """One configuration's sections, at heading ``level`` (``##`` alone, ``###`` under a configuration's heading)."""
    budgets, figures = block["budgets"], block["figures"]
    parts = []
    if len(budgets["labelled"]) > 1:
        parts += [f"{level} Test accuracy against labelled reviews", "",
                  "Each budget is a nested subset of the labelled training reviews (lowest hashes of their ids); validation and test "
                  "are unchanged.", "", label_budget_markdown(budgets), "",
                  f"![test accuracy against labelled reviews]({figures['per_label_budget']})", ""]
    if block["comparisons"]:
        parts += [f"{level} Pretrained vectors against random initialisation (paired by seed)", "", block["comparisons"], ""]
    selection = ("each mode runs until validation accuracy stops improving (the best epoch's weights are tested), so a frozen "
                 "table, whose steps are cheap and whose model learns slowly, is not cut off at the epoch count that suits a trained one."
                 if block["validation"] else
                 "there is no validation split, so nothing is selected: every mode trains all its epochs and **no validation: the last "
                 "epoch is tested**.")
    parts += [f"{level} Test accuracy per mode (mean ± std over seeds)", "", summary_markdown(block["summary"]), "",
              f"![test accuracy per mode{' and the paired differences' if block['comparisons'] else ''}]({figures['per_mode']})", "",
              f"{level} How each mode was trained", "", f"The same model above the table in every mode; {selection}", "",
              block["training"], ""]
    return parts


def render(blocks: list[dict], table: list[dict], explained: dict, stats: dict, projector_shapes: dict,
           paths: list[str], workdir: str, failed: list[dict], small_corpus: str | None, ngram_comparisons: str) -> str:
    """results.md. ``blocks``: one per configuration, ``{"heading": str | None (None when alone), "summary", "budgets",
    "comparisons": markdown, "training": markdown, "validation": bool, "figures": {"per_mode", "per_label_budget"}}``;
    ``ngram_comparisons``: pretrained n-gram rows against random ones, across configurations (markdown, or empty)."""
    tables_in_projector = ", ".join(f"`{name}` {shape}" for name, shape in projector_shapes.items())
    configurations = []
    for block in blocks:
        if block["heading"] is None:
            configurations += _block(block, "##")
        else:
            configurations += [f"## {block['heading']}", "", *_block(block, "###")]
    several = ([f"These runs come from {len(blocks)} configurations (their cache keys less seed, mode, label budget and vector "
                "source); runs of different configurations are never averaged, and each heading names what sets it apart.", ""]
               if len(blocks) > 1 else [])
    return "\n".join([
        "# Results", "",
        f"Runs from {', '.join(f'`{path}`' for path in paths)}; data and vocabulary from `{workdir}`.", "",
        *_failed(failed),
        *([f"> **Small corpus.** {small_corpus}", ""] if small_corpus else []),
        *several,
        *(["## Pretrained n-gram rows against random ones (paired by seed)", "",
           "Each row pairs runs of two configurations (below) that differ only in how their n-gram rows start: from the "
           "n-gram stage's vectors (the rows it learned; the others keep the random start), or all from the layer's random "
           "start.", "", ngram_comparisons, ""] if ngram_comparisons else []),
        *configurations,
        "## Every run", "", runs_markdown(table), "", "![learning curves](learning_curves.png)", "",
        "## Records", "", _records(stats), "",
        _insight(explained),
        "## TensorBoard", "",
        f"`tensorboard --logdir {workdir}` shows every run's curves (runs/<run>/tensorboard) and, in the Projector tab "
        f"(run `report/projector`), the embedding tables {tables_in_projector}, each with `metadata/<table>.tsv` (token, count, "
        "polarity, in_labelled_training, moved: its Color by menu offers the last four).", "",
    ])
