"""kb: a searchable knowledge base of lecture slides."""
