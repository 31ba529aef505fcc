"""Contracts: what a spec promises or a ``saved_model.pb`` holds, and which changes break clients.

Reads ``saved_model.pb`` with a protobuf subset of its own; imports neither TensorFlow nor MLflow.
"""
