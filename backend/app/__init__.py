"""Example service tested with pgstack: organizations and their customers."""
