"""The example notebook runs on the bundled sample."""

from __future__ import annotations

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_walkthrough_notebook_executes(tmp_path) -> None:
    import jupytext
    from nbclient import NotebookClient

    nb = jupytext.read(REPO / "examples" / "walkthrough.py")
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", "")) for o in outputs)
    assert "cells lack at least one category" in text
    assert "minutes_to_clinic" in text
