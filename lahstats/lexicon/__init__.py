"""The words lahstats counts, as pure data: the TOML of the 20 Singlish targets (spellings, known
mishearings, pronunciations, English look-alikes), the lexicon read from it, and phonetics.

Both ``pipeline`` (correction, counting, the recognisers' hints) and ``words`` (a group's own
words, recounts, Wrapped) import it; it imports neither, and nothing but ``errors``.
"""
