"""reviewlens pipeline: from the IMDB tarball to one shared DuckDB file."""

import os
import re
import sys
import tempfile

# TensorFlow's notes (CPU instructions, absl's logging) are not for the user: errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# What TensorFlow writes while it loads, before it reads that level: known lines, left out of the output.
START_UP_NOTES = re.compile(r"All log messages before absl::InitializeLog|oneDNN custom operations are on")


def quiet_tensorflow() -> None:
    """Import TensorFlow with its start-up notes kept out of the output; anything else it writes then is shown.
    The steps that use Keras call this before importing it."""
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines = capture.read().decode(errors="replace").splitlines()
            shown = [line for line in lines if not START_UP_NOTES.search(line)]
            if shown:
                print("\n".join(shown), file=sys.stderr)
