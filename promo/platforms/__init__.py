"""Platform adapters: one module per platform behind one interface (``base.Adapter``)."""

from promo.platforms.base import Adapter, BaseAdapter, build_adapter
from promo.platforms.registry import PLATFORMS, PlatformSpec, spec_for

__all__ = ["PLATFORMS", "Adapter", "BaseAdapter", "PlatformSpec", "build_adapter", "spec_for"]
