"""quizgen: randomized parameter-count quizzes, solved analytically and confirmed by Keras.

Kept import-free on purpose: the CLI must start without numpy or TensorFlow.
"""

__version__ = "0.2.0"
