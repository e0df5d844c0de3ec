"""Inference: ``wf-predict`` loads the SavedModel each run exports (workflow/training/export.py) with TensorFlow alone."""
