"""promo: a social media post scheduler for promotional announcements that never double-posts."""

__version__ = "0.1.0"
