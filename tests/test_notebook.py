"""notebooks/quickstart.ipynb runs top to bottom in a real Jupyter kernel, and is stored clean."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "quickstart.ipynb"


def test_committed_notebook_has_no_outputs_or_execution_counts():
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code_cells = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert code_cells
    for cell in code_cells:
        assert cell["outputs"] == [] and cell["execution_count"] is None, cell["source"][:80]
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"


def kernel_name() -> str:
    """The notebook's kernel, which must run this interpreter (the project's environment)."""
    name = nbformat.read(NOTEBOOK, as_version=4).metadata.kernelspec.name
    try:
        spec = KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        pytest.fail(f"no Jupyter kernel {name!r}: install ipykernel into this environment")
    return name if spec else ""


@pytest.mark.slow
def test_quickstart_notebook_runs_top_to_bottom(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebook's WORK goes here
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name=kernel_name(),
        timeout=600,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
    text = "\n".join(
        output.get("text", "") for cell in notebook.cells for output in cell.get("outputs", [])
    )
    assert "epoch 5/5 train_loss=" in text  # the single run's progress lines
    assert "epoch 3/3 train_loss=" in text  # a pipeline job's log
    images = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    assert len(images) >= 3  # the loss curve and the report's comparison figures
    assert not list(tmp_path.glob("thesis_ml-*")), "the notebook left its files behind"
    assert not (REPO / "notebooks" / "results").exists()
