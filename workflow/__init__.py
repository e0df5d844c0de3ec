"""Pretrained-embedding workflow: Beam preprocessing, gensim word2vec, Keras Embedding training."""

__version__ = "0.1.0"
