"""`make bench`: load tests of a real `wazo-like-auth serve` against a bare-Flask ceiling.

Run ``python -m contribs.bench --help`` from the repository root. Every request goes to
127.0.0.1 only, and every load run is bounded in time.
"""
