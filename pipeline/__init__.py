"""reviewlens pipeline: from the IMDB tarball to one shared DuckDB file."""
