"""ACLs (wazo-token-api §2.4): matching and granting, pure and free of I/O.

A token's ACL is a list of patterns; a required access is a dot-separated string.
- ``*`` matches a run of characters without ``.`` or ``#`` (part of one word);
- ``#`` matches anything, dots included;
- a whole pattern segment ``me`` also matches the token's ``auth_id``, ``my_session`` its session
  uuid, when that is one segment (a client_id with dots, the auth_id of a client's own token,
  is no ``me``), and ``edit`` also matches ``update`` (substitution on the pattern side only);
- patterns are anchored and case-sensitive; every other character is literal;
- a pattern starting with ``!`` denies: any matching negative wins over every positive.

Patterns are compiled once per distinct ACL into one regex, shared by every token holding it
(``AccessCheckCache``); a check is one regex match whatever the size of the ACL, or one per
variant (two, up to 16) when the required string holds the token's auth_id or session uuid
(matching.py).

``refused_grant`` is the rule of what a holder of an ACL may hand out (policies, clients, links):
positive entries it holds, bounded by its negative ones compared by language.
"""
from .granting import refused_grant
from .linear import Budget
from .matching import AccessCheck, AccessCheckCache, ExactAccessCheck, one_segment

__all__ = ['AccessCheck', 'AccessCheckCache', 'Budget', 'ExactAccessCheck', 'MAX_ENTRIES',
           'one_segment', 'refused_grant']

# Every token of a user carries the ACL of all its policies, and every check matches against
# it: an unbounded policy (a 1 MiB body holds ~200 000 entries) would bloat every token row and
# check. Wazo's own policies hold tens of entries.
MAX_ENTRIES = 4096
