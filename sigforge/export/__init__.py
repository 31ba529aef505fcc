"""Stage 2: the model and its serving functions, written into a staged TF Serving version.

Signatures, the SavedModel write, warmup requests, versions and staging, source models. The one
stage (with verify/) where TensorFlow is imported.
"""
