"""Platforms: one module per platform (its adapter and ``SPEC``), the HTTP bases, and the error maps.

- ``x``, ``mastodon``, ``bluesky``, ``threads``, ``linkedin``, ``facebook``, ``telegram``, ``discord``,
  ``slack``, ``webhook``, ``outbox``, ``youtube``, ``instagram``, ``tiktok``, ``reddit``: one adapter each,
  and its ``SPEC``.
- ``registry``: the list of platforms, ``spec_for`` and ``rules_for``.
- ``base``: ``PlatformSpec``, the ``Adapter`` interface, ``BaseAdapter``, ``build_adapter`` and ``Account``.
- ``boundary``: ``ErrorMap``, the one ``boundary`` and the one ``retry_at`` reader.
- ``http``: ``HttpAdapter``, the base of the adapters speaking plain httpx; ``graph``: Meta's Graph base.
- ``client_<library>`` (httpx, requests, tweepy, mastodon, atproto, google, praw, boto3): how promo
  builds that library's client and what its errors mean (imported only when an adapter first calls
  its platform).
- ``progress``: thread progress in the journal; ``tids``: Bluesky keys.
- ``media``: finding a post's media files; ``streaming``: upload bodies streamed from disk for
  requests (X, Mastodon); ``covers``: a video's cover as a small JPEG thumbnail;
  ``facebook_video`` and ``youtube_upload``: resumable video uploads that survive a restart.
- ``oauth``: connecting accounts through each platform's own flow, and refreshing their tokens.
- ``mediahost``: public URLs for networks that fetch media by URL (an S3-compatible bucket with
  presigned URLs, or a folder you serve): docs/media-host.md.

Names are imported from their modules (``from promo.platforms.registry import spec_for``): importing
this package alone loads nothing else.
"""
