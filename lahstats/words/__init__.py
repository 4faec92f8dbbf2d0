"""The Singlish lexicon as data, corrections of what recognisers mishear, counting and Wrapped stats.

Services here sit between the API and the repositories in ``storage``; they never speak HTTP.
"""
