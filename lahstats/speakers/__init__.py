"""Speakers as people: voice embeddings, voiceprints, cross-session matching and claiming rules.

Services here sit between the API and the repositories in ``storage``; they never speak HTTP.
"""
