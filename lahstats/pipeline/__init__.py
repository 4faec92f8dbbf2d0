"""Pure audio stages: decode, diarize, transcribe, correct, count, sample, embed (+ run.py).

Stages take arrays and frozen dataclasses and return them; they import neither ``api`` nor
``storage`` and report progress through an ``on_progress(stage, done, total)`` hook.
``backends.py`` says which model backends the settings name and whether each is usable here.
"""
