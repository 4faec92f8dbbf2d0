"""Words as a service: a group's own words, recounts, Wrapped stats and leaderboards.

The lexicon itself (the TOML, the lexicon, phonetics) is pure data in ``lahstats.lexicon``.
Services here sit between the API and the repositories in ``storage``; they never speak HTTP.
"""
