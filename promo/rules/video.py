"""Video rules as data, one ``VideoRules`` per platform (issue 13), checked without I/O.

Each figure cites its source in ``docs/platforms/<platform>.md``; ``None`` means no limit known.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class VideoRules:
    """What one platform accepts as a video attachment."""

    min_duration_s: float | None = None
    max_duration_s: float | None = None
    max_bytes: int | None = None
    containers: frozenset[str] = field(default_factory=frozenset)   # empty: any
    codecs: frozenset[str] = field(default_factory=frozenset)       # empty: any
    min_aspect: float | None = None    # width / height
    max_aspect: float | None = None
    min_width: int | None = None
    min_height: int | None = None
    max_width: int | None = None
    max_height: int | None = None
    max_fps: float | None = None
    max_count: int = 1                 # videos per post
    mix_with_images: bool = False
    cover: bool = False                # a custom cover/thumbnail can be sent
    captions: bool = False             # caption files (SRT/VTT) can be sent
    verified: bool = True              # False: a figure we could not confirm from the docs
