"""Paragraph vectors: gensim's PV-DBOW over the training-side text, a vector inferred for every labelled review, and a
logistic regression on them whose predictions are combined with a network's (stage.py)."""
