"""Benchmarks: ``bench/ingest.py`` (file → optimized Parquet) and ``bench/web_memory.py``.

Each script runs on its own from the repository root, e.g. ``.venv/bin/python
bench/ingest.py``; generated inputs are cached under ``bench/out/`` (git-ignored).
"""
