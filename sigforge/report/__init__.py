"""What people read and send: the signature summary, the card, request files, console progress.

Imports neither TensorFlow nor MLflow; the gRPC client scripts it writes import TensorFlow when run.
"""
