"""Offline LoRA fine-tuning, evaluation and versioning of the summarization specialist."""
