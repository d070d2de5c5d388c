"""The one exception type the pipeline shows to users as a single line, and how any other error becomes one."""


class PipelineError(Exception):
    """Bad input or a failed step: the message names the file or value and says what to do."""


def first_line(error: BaseException, with_type: bool = False) -> str:
    """The first line of an error's message, cut to 200 characters (with its type first, e.g. 'ValueError: ...'),
    for a message of one line."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    line = lines[0][:200] if lines else ""
    return f"{type(error).__name__}: {line}" if with_type else line or type(error).__name__
