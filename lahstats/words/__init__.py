"""The Singlish lexicon as data, corrections of misheard words, counting and Wrapped stats.

Services here sit between the API and the repositories in ``storage``; they never speak HTTP.
"""
