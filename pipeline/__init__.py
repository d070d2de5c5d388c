"""reviewlens pipeline: from labelled texts and models to one DuckDB file; `python -m pipeline STEP` runs a step."""

import contextlib
import os
import re
import sys
import tempfile

# TensorFlow's notes (CPU instructions, absl's logging) are not for the user: errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# What TensorFlow writes that is not for the user: known lines, left out of the output. Its start-up notes come
# before it reads that level; the last is a tf.data rewrite's complaint, harmless, while a model trains
# deterministically (tensorflow/tensorflow's ParallelMapDatasetV2 turned into MapDataset).
TENSORFLOW_NOTES = re.compile(
    r"All log messages before absl::InitializeLog|oneDNN custom operations are on"
    r"|NodeDef mentions attribute use_unbounded_threadpool"
)


@contextlib.contextmanager
def tensorflow_notes_left_out():
    """Run the block with TensorFlow's known notes kept out of standard error; anything else it writes is shown
    once the block ends."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines = capture.read().decode(errors="replace").splitlines()
            shown = [line for line in lines if not TENSORFLOW_NOTES.search(line)]
            if shown:
                print("\n".join(shown), file=sys.stderr)


def quiet_tensorflow() -> None:
    """Import TensorFlow with its start-up notes kept out of the output. The steps that use Keras call this before
    importing it."""
    if "tensorflow" in sys.modules:
        return
    with tensorflow_notes_left_out():
        import tensorflow  # noqa: F401
