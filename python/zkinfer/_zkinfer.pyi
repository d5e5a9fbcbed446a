"""Type stubs of the native module (Rust, PyO3)."""

from typing import List, Tuple

class ZkinferError(Exception):
    """A zkinfer command failed: ``args`` is ``(kind, message)``."""

def run(args: List[str]) -> Tuple[int, str]:
    """Runs ``zkinfer ARGS...`` in-process (GIL released): ``(exit_code, json_text)``."""

def init_logging(level: str = "warn") -> None:
    """Sends zkinfer's logs to stderr at ``level`` (``ZKINFER_LOG`` overrides)."""
