"""The browser's proof-of-work module and the server agree (run with Node, which has WebCrypto)."""

import shutil
import subprocess
from pathlib import Path

import pytest

from tessera.core import pow

MODULE = Path(__file__).resolve().parents[2] / "tessera" / "static" / "tessera" / "js" / "pow" / "pow.js"


@pytest.mark.skipif(shutil.which("node") is None, reason="Node is not installed")
def test_nonce_found_by_the_javascript_module_is_accepted_by_the_server(db, settings):
    settings.TESSERA_CARDS_POW_BITS = 12
    challenge = pow.challenge_issue(scope="card:abc")
    script = (
        f"import {{ solve }} from {str(MODULE.as_uri())!r};"
        f"solve({challenge!r}, 12).then((n) => console.log(n));"
    )
    nonce = subprocess.run(
        ["node", "--input-type=module", "-e", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    pow.challenge_redeem(challenge=challenge, nonce=nonce, scope="card:abc")
    with pytest.raises(pow.ProofOfWorkError):
        pow.challenge_redeem(challenge=challenge, nonce=str(int(nonce) + 1), scope="card:abc")
