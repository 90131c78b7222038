"""The names of what quizgen generates, importable without loading the generator."""

# The first eight kinds: the 점검 퀴즈 and its relatives over Sequential RNN models.
FIRST_KINDS = ("total-params", "layer-params", "output-shape", "summary", "weight-shapes", "trainable-split",
               "inverse", "code")
# The textbook's later chapters: functional models, attention, convolution, memory, comparisons.
ZOO_KINDS = ("seq2seq", "return-state", "text-cnn", "transformer", "cnn", "memory", "compare")
# The notebook's own exercises an instructor asks for beside the counts: the numpy RNN stepped
# by hand, Keras's gate weights, which changes alter a count, spotting a bug, the tokenizer's
# vocabulary and padding, a tagger's TimeDistributed layer, position embeddings.
NOTEBOOK_KINDS = ("rnn-step", "gate-weights", "changes-count", "spot-bug", "tokenizer", "tagging", "positional")
KINDS = FIRST_KINDS + ZOO_KINDS + NOTEBOOK_KINDS
# What `generate` asks without --kind: the first eight, so a quiz generated before the later
# kinds existed comes out the same for the same seed and options.
DEFAULT_KINDS = FIRST_KINDS
LANGS = ("ko", "en")
DIFFICULTIES = ("easy", "medium", "hard")
GENERATOR_VERSION = "2"  # 2: difficulty with meaning, conventions stated, textbook Korean (issue #19)

MAX_QUESTIONS = 200  # per student, in one quiz
