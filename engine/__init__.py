"""How a question becomes an answer, below any front end: the one loader, generator and pipeline.

The service (``/ask``), ``specialist ask --local``, every ``specialist eval`` command and the benches
all import this package, so what they measure or print is what users get. It knows nothing of
HTTP: ``service`` wraps it in routes, a pool and hot swapping.

Modules: ``loader`` (base model + adapter, in the serving dtype, on the engine chosen),
``generate`` (greedy decoding with one stop rule, streamed or batched), ``batched`` (continuous
batching on llama.cpp) with ``gguf_merged`` (the adapter folded into a GGUF copy), ``answering`` (the reader chosen, gate, focus, budget,
prompt, citations), ``extract`` (the extractive reader: sentence scorer, its weights in
``reader.json``, decline threshold), ``judge`` (the specialist's vote on the reader's shortlist), ``focus`` (the sentence window shown per passage), ``schemas`` (the answer's types),
``snapshot`` (the index + specialist pair a request uses), ``threads`` and ``fresh_thread`` (how
answers share the CPU cores), ``conversation`` (the standalone question a follow-up asks).
"""
