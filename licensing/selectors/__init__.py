"""Reads shared by pages and the API, one module per subject. Visibility rules live here, once."""
