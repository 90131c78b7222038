"""Reading model-building code (textbook cells, ``.py`` files, notebooks) into specs, never running it.

``models_from_code`` is the entry point; the modules behind it are the Python reader
(``python``), the values it computes (``values``), Keras's names (``keras_names``), the
Keras objects it follows (``reader``), functional graphs traced back (``graph``) and
notebooks as Python (``notebook``).
"""

from .models import CodeModel, models_from_code

__all__ = ["CodeModel", "models_from_code"]
