"""newsmon: watch the news on the US–China AI contest and alert on the stories that matter."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
