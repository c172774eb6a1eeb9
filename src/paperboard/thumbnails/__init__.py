"""First-page thumbnails of listed papers: queued when a paper is listed, made by the worker from arXiv's PDF."""
