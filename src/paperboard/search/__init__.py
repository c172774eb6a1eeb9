"""Finding papers in the catalogue from what a reader types."""
