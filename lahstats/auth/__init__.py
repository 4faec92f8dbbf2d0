"""Who is calling: bearer tokens (Supabase-style JWTs) in, an ``Identity`` out.

Nothing here touches the database or HTTP routing; the API's middleware calls ``TokenVerifier``.
"""
