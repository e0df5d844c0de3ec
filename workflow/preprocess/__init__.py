"""Stage 1: Beam jobs that read a review corpus and write vocabulary, examples and corpus."""
