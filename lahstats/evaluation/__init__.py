"""Scoring the pipeline against recordings with known answers: ``lahstats eval DATASET_DIR``.

``dataset`` reads an evaluation set's ``index.json``, ``rttm`` reads and writes speaker turns,
``metrics`` holds the pure scores (DER, speaker mapping, word counts, WER), ``runner`` times the
pipeline over a set and ``report`` aggregates and renders the results. Nothing here is imported by
the service: evaluation reads files beside the project and never touches the database.
"""
