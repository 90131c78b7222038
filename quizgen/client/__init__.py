"""The student's side of ``quizgen serve``: submitting, showing and checking over HTTP.

Nothing here imports the store (SQLAlchemy), numpy or TensorFlow: a student's laptop
needs only click, httpx and cryptography. What a student is told is worded in
data/messages.json: in the quiz's language once the server has named it, before that
in the language of the student's locale (LC_ALL, LC_MESSAGES, LANG). The pieces:

- ``servers``: which server URLs the client will talk to, and how they are named;
- ``storage``: where things are kept on the student's machine and how they are written
  (private, whole, fsync'd);
- ``credentials``: the login file (student id and token per server) and the pinned
  receipt keys;
- ``outbox``: submissions written down before they are sent, until the server answers,
  with why the last try did not end them;
- ``retry``: when and how long to wait before sending again;
- ``receipts``: checking the server's signed receipts, keeping and listing them;
- ``api``: the HTTP calls, each within one deadline, and what their answers mean;
- ``screens``: what the student's commands print, in the quiz's language, a server's
  text made harmless;
- ``delivery``: a submission's whole journey (checked for blanks, outbox, send, retry,
  verify, keep);
- ``quizzes``, ``status``, ``login`` and ``syncing``: the remote commands as library
  calls returning result objects, which the CLI only prints.
"""
