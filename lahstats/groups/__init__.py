"""Groups of friends: creating, joining by invite code, members and their display names."""
