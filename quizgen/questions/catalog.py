"""The names of what quizgen generates, importable without loading the generator."""

# The first eight kinds: the 점검 퀴즈 and its relatives over Sequential RNN models.
FIRST_KINDS = ("total-params", "layer-params", "output-shape", "summary", "weight-shapes", "trainable-split",
               "inverse", "code")
# The textbook's later chapters: functional models, attention, convolution, memory, comparisons.
ZOO_KINDS = ("seq2seq", "return-state", "text-cnn", "transformer", "cnn", "memory", "compare")
KINDS = FIRST_KINDS + ZOO_KINDS
# What `generate` asks without --kind: the first eight, so a quiz generated before the later
# kinds existed comes out the same for the same seed and options.
DEFAULT_KINDS = FIRST_KINDS
LANGS = ("ko", "en")
DIFFICULTIES = ("easy", "medium", "hard")
GENERATOR_VERSION = "2"  # 2: difficulty with meaning, conventions stated, textbook Korean (issue #19)

MAX_QUESTIONS = 200  # per student, in one quiz
