"""Media test helpers: tiny real videos (PyAV) and images (Pillow) generated on demand (issue 13)."""
