"""Accounts: what deleting one removes, hands over or keeps."""
