"""The bench's verifier measurement on its own: real verifications (a refused token would
raise), a rate per CPU second, and the library named."""
from __future__ import annotations

import pytest

from contribs.bench import verifier_offline


@pytest.mark.parametrize('alg', ['RS256', 'ES256'])
def test_the_measure_verifies_tokens_and_names_the_library(alg):
    result = verifier_offline.measure(0.2, alg=alg, tokens=5)
    assert result.verifications >= 5 and result.cpu_seconds > 0
    assert result.library.startswith('joserfc 1.8.0 on cryptography ')
    assert result.library.endswith(alg)
    assert result.line().startswith('verifier offline verifications per second on one core: ')
