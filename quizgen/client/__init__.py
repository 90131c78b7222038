"""The student's side of ``quizgen serve``: submitting, showing and checking over HTTP.

Nothing here imports the store (SQLAlchemy), numpy or TensorFlow: a student's laptop
needs only click, httpx and cryptography. The pieces:

- ``servers``: which server URLs the client will talk to, and how they are named;
- ``storage``: where things are kept on the student's machine and how they are written
  (private, whole, fsync'd);
- ``credentials``: the login file (student id and token per server) and the pinned
  receipt keys;
- ``outbox``: submissions written down before they are sent, until the server answers;
- ``retry``: when and how long to wait before sending again;
- ``receipts``: checking the server's signed receipts and keeping them;
- ``api``: the HTTP calls and what their answers mean;
- ``delivery``: a submission's whole journey (outbox, send, retry, verify, keep).
"""
