"""The export in the real MLflow UI, opened in headless Chromium through Playwright: the signature
card among the run's artifacts, the LoggedModel in the experiment's Models tab, and the registered
version whose source it is."""

from __future__ import annotations

import os
import shutil

import pytest
from conftest import REPO

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_the_export_in_the_mlflow_ui_card_models_tab_and_registry(run_cli, mlflow_server):
    if CHROMIUM is None:
        reason = "no system Chromium (scripts/test.sh installs Debian's chromium when run as root with apt)"
        if os.environ.get("SIGFORGE_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + ", and SIGFORGE_REQUIRE_BROWSER=1 says this run must drive it")
        pytest.skip(reason)
    playwright = pytest.importorskip("playwright.sync_api")
    from mlflow.tracking import MlflowClient

    result = run_cli(
        "experiment=multi_input",
        f"mlflow.tracking_uri={mlflow_server}",
        "mlflow.experiment_name=ui",
        "naming.policy=prefixed",
        "mlflow.registered_model_name=ui_model",
    )
    assert result.returncode == 0, result.stderr
    client = MlflowClient(mlflow_server)
    experiment = client.get_experiment_by_name("ui")
    run = client.search_runs([experiment.experiment_id])[0]
    url = f"{mlflow_server}/#/experiments/{experiment.experiment_id}/runs/{run.info.run_id}/artifacts"
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-sync",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1800, "height": 1000})  # every column rendered
            page.goto(url)
            page.get_by_text("signature_card.html").first.click(timeout=60_000)
            card = page.frame_locator("iframe").first
            for key in ("input_image", "input_text", "scores"):
                playwright.expect(card.locator("td.key", has_text=key)).to_be_visible(timeout=30_000)
            playwright.expect(card.get_by_text("tensorflow/serving/predict")).to_be_visible()
            # docs/mlflow.md's picture is this page: SIGFORGE_UPDATE_SCREENSHOTS=1 refreshes it
            shot = page.screenshot(full_page=False)
            assert shot[:8] == b"\x89PNG\r\n\x1a\n"
            if os.environ.get("SIGFORGE_UPDATE_SCREENSHOTS") == "1":
                (REPO / "docs" / "signature_card.png").write_bytes(shot)

            # The Models tab (MLflow 3, model-training view): the LoggedModel, Ready, from its run,
            # with the registry version it is the source of.
            page.goto(
                f"{mlflow_server}/#/experiments/{experiment.experiment_id}/models?workflowType=machine_learning"
            )
            row = page.locator("[role=row]", has_text="Ready").first
            playwright.expect(row).to_be_visible(timeout=60_000)
            body = page.locator("body")
            playwright.expect(body).to_contain_text(run.info.run_name, timeout=30_000)
            playwright.expect(body).to_contain_text("ui_model")

            # The registered version page: source run and model, alias, description, contract tag.
            page.goto(f"{mlflow_server}/#/models/ui_model/versions/1")
            playwright.expect(body).to_contain_text("Source Model", timeout=60_000)
            playwright.expect(body).to_contain_text("latest_export")
            playwright.expect(body).to_contain_text("multi_input v1, exported by sigforge")
            playwright.expect(body).to_contain_text(run.data.tags["sigforge.contract_digest"])
        finally:
            browser.close()
