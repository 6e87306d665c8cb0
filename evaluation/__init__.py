"""``specialist eval all``: every system (no model, base, specialist; closed book, retrieval) side by side.

The product claims that a fine-tuned specialist answering from retrieved passages beats either tool
alone; this package turns that claim into a command anyone can rerun on held-out data, with a JSON
file of every number, a Markdown report and plots.
"""
