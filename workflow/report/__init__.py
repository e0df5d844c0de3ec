"""Stage 4: the results report, the TensorBoard projector and what the Embedding layer learned."""
