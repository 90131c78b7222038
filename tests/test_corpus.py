"""#18's corpus: real-world model files from textbooks' and tutorials' repositories (sources other
than tests/fixtures/code/; each file names its source at the top), each read by quizgen and run
by the installed Keras, model by model (tests/corpus_check.py).

Every model quizgen answers must be Keras's answer, row by row; a model quizgen refuses must be
one only running the code answers (a subclassed layer, a layer quizgen does not read), and
``--execute`` then answers it. Keras 2 code whose Sequential model Keras 3 leaves unbuilt (an
Embedding's input_length, or an Embedding with no input at all) is answered as Keras 2 built
it, with a note saying so.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from quizgen.cli.main import cli

from .corpus_check import compare

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
FILES = sorted(CORPUS.glob("*.py"))

# Models only running the code answers, by file: (line, what in the refusal says why)
KERAS_ONLY = {
    "homl3_ch14_resnet34.py": [(40, "subclassed layers are not supported")],
    "tf_docs_image_classification.py": [(29, "unsupported call layers.RandomFlip"),
                                        (40, "unsupported call layers.RandomFlip")],
}


def test_the_corpus_is_large_enough_and_names_its_sources():
    assert len(FILES) >= 20
    for path in FILES:
        head = path.read_text(encoding="utf-8").splitlines()[0]
        assert head.startswith("# Source: "), path.name


@pytest.mark.slow
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_each_model_is_keras_s_answer(checker, path):
    outcomes, stopped = compare(path)
    assert stopped is None, stopped  # every corpus file runs in Keras to its end
    kinds = Counter(o.kind for o in outcomes)
    assert not {"wrong", "false accept", "false reject"} & set(kinds), [o for o in outcomes if o.kind not in (
        "agree", "both refuse", "keras only", "keras 2 note")]
    keras_only = [(o.line, o.detail) for o in outcomes if o.kind == "keras only"]
    expected = KERAS_ONLY.get(path.name, [])
    assert [line for line, _ in keras_only] == [line for line, _ in expected]
    for (_, detail), (_, why) in zip(keras_only, expected):
        assert why in detail and detail.endswith("run the file in Keras with --execute"), detail
    for o in outcomes:
        if o.kind == "keras 2 note":
            assert "Keras 3" in o.detail


@pytest.mark.slow
def test_execute_answers_what_the_reader_refuses(tmp_path):
    """--execute runs the file in a child process and answers the refused models (ResNet-34's
    subclassed ResidualUnit): the JSON of the analytic path, marked "source": "keras"."""
    result = CliRunner().invoke(cli, ["solve", "--from-code", str(CORPUS / "homl3_ch14_resnet34.py"), "--execute",
                                      "--json"])
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    data = json.loads(line)
    assert data["source"] == "keras" and data["model"] == "model" and data["class"] == "Sequential"
    assert data["total_params"] == 21_306_826  # ResNet-34 for 10 classes, as Keras counts it
    assert data["non_trainable_params"] == 17_024  # the BatchNormalization moving statistics
    assert [r["type"] for r in data["layers"]][:4] == ["Conv2D", "BatchNormalization", "Activation", "MaxPooling2D"]
    assert sum(r["type"] == "ResidualUnit" for r in data["layers"]) == 16
    assert "derivation" not in data["layers"][0]
