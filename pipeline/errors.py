"""The one exception type the pipeline shows to users as a single line."""


class PipelineError(Exception):
    """Bad input or a failed step: the message names the file or value and says what to do."""
