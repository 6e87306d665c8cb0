"""HTTP wiring around ``engine``: routes, schemas, middleware, the generation pool, hot swapping.

It holds no answering logic: questions are answered by :mod:`engine.answering` with the specialist
from :mod:`engine.loader`. Here they get a bounded pool with shared cores (``pool``), an index and
adapter that change under running requests (``runtime``), reindex jobs confined to the document
roots (``jobs``, ``paths``), authentication and metrics (``middleware``, ``metrics``), typed HTTP
bodies (``schemas``) and the ``serve``/``ask`` commands (``cli``). ``relay`` runs one answer in the
pool for any route; the OpenAI-compatible API is ``routes/openai`` with its bodies
(``openai_schemas``), errors (``openai_errors``), models (``openai_models``), request reading and
framing (``openai_chat``) and ``max_tokens``/``stop`` (``delivery``); ``chat_cli`` is
``specialist chat``.
"""
