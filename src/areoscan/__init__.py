"""areoscan: find landforms in gigapixel planetary images."""

__version__ = "0.1.0"
