"""The names of what quizgen generates, importable without loading the generator."""

KINDS = ("total-params", "layer-params", "output-shape", "summary", "weight-shapes", "trainable-split",
         "inverse", "code")
LANGS = ("ko", "en")
DIFFICULTIES = ("easy", "medium", "hard")
GENERATOR_VERSION = "1"

MAX_QUESTIONS = 200  # per student, in one quiz
