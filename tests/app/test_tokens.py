"""Session tokens: a signer that adopts a shared key keeps accepting its own."""

from __future__ import annotations

from ensemble.auth import SessionClaims, TokenSigner

CLAIMS = SessionClaims("r_1", "m_1", "participant")


def test_an_adopted_key_signs_and_earlier_tokens_still_verify():
    signer = TokenSigner("own key")
    before = signer.sign(CLAIMS)
    signer.adopt("shared key")
    after = signer.sign(CLAIMS)

    assert signer.key == "shared key"
    assert signer.verify(before) == CLAIMS
    assert signer.verify(after) == CLAIMS
    assert TokenSigner("shared key").verify(after) == CLAIMS  # any process with the key
    assert TokenSigner("shared key").verify(before) is None
    assert TokenSigner("other").verify(after) is None


def test_a_signer_remembers_a_bounded_number_of_keys():
    signer = TokenSigner("k0")
    first = signer.sign(CLAIMS)
    for i in range(1, TokenSigner.MAX_KEYS + 1):
        signer.adopt(f"k{i}")
    assert signer.verify(first) is None
