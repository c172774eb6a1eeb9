"""Clients for arXiv's services: OAI-PMH for bulk harvesting, the Atom API for papers by id."""
