"""Stage 3: every check of a staged SavedModel, in ``tf.saved_model.load`` and in TensorFlow's C++
loader (the one TF Serving links), with the inputs it sends and the answers it expects."""
