"""wazo-like-auth: a Wazo-compatible authentication service with opaque tokens."""

__version__ = '0.1.0'
