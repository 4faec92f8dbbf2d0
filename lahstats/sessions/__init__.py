"""Recording sessions: starting one, taking its chunks, ending it, following its processing."""
