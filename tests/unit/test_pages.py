"""What a throttled page says of the wait (http/pages.py)."""
from __future__ import annotations

import pytest

from wazo_like_auth.http.pages import throttled_message


@pytest.mark.parametrize('retry_after, wait', [
    (1, 'wait 1 second '), (45, 'wait 45 seconds '), (60, 'wait 1 minute '),
    (61, 'wait 2 minutes '), (900, 'wait 15 minutes '), (None, 'wait a few minutes ')])
def test_a_throttled_page_says_the_wait_of_its_retry_after(retry_after, wait):
    assert wait in throttled_message(retry_after)
