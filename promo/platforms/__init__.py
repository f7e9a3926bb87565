"""Platforms: one module per platform (its adapter and ``SPEC``), the HTTP base, and the error maps.

- ``registry``: the list of platforms, ``spec_for`` and ``rules_for``.
- ``base``: ``PlatformSpec``, the ``Adapter`` interface, ``BaseAdapter`` and ``build_adapter``.
- ``boundary``: ``ErrorMap``, the one ``boundary`` and the one ``retry_at`` reader.
- ``http``: ``HttpAdapter``, the base of the adapters speaking plain httpx; ``graph``: Meta's errors.
- ``client_<library>``: how promo builds that library's client and what its errors mean (imported
  only when an adapter first calls its platform).
- ``progress``: thread progress in the journal; ``media``: reading media files; ``tids``: Bluesky keys.
- ``streaming``: upload bodies streamed from disk for requests (X, Mastodon); ``covers``: a video's
  cover as a small JPEG thumbnail.
- ``mediahost``: public URLs for networks that fetch media by URL (an S3-compatible bucket with
  presigned URLs, or a folder you serve): docs/media-host.md.

Names are imported from their modules (``from promo.platforms.registry import spec_for``): importing
this package alone loads nothing else.
"""
