"""The HTTP checking service (``quizgen serve``): a JSON API and a page for students,
over the same classroom library the CLI calls. See docs/api.md."""
