"""Inference: the classifier exported with its tokenizer and vocabulary, and ``wf-predict``."""
