"""Facebook Page: 63,206 characters (UTF-16 code units); photos up to 4 MB, 10 per post.

promo posts photos (``/{page-id}/photos``) and Page videos (the resumable upload, ``facebook_video.py``).
A thread's later parts go out as comments on the post (``CommentRules``): text only, 8,000 UTF-16
code units each (unverified: the Graph API reference names no limit for a comment's ``message``).
"""

from __future__ import annotations

from promo.rules.comments import CommentRules
from promo.rules.counting import MB, MediaRules, utf16_length
from promo.rules.video import MP4_MOV, VideoRules

GB = 1_000_000_000
# Video limits: docs/platforms/facebook.md#video-limits (Graph API video publishing; a Page video
# post is one video, alone).
VIDEO = VideoRules(max_duration_s=240 * 60, max_bytes=10 * GB, containers=MP4_MOV, min_aspect=9 / 16,
                   max_aspect=16 / 9, cover=True, verified=False)

class FacebookRules(CommentRules):
    platform = "facebook"
    title = "Facebook"
    limit = 63206
    comment_limit = 8000
    comment_source = "unverified"
    media_rules = MediaRules(10, {"image": 4 * MB, "gif": 4 * MB, "video": 10 * GB}, video=VIDEO)

    def length(self, text: str) -> int:
        return utf16_length(text)
