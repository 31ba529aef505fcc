"""The export in the real MLflow UI, opened in headless Chromium through Playwright: the signature
card among the run's artifacts, the LoggedModel in the experiment's Models tab and on its own page,
the run's Overview, the registered version whose source it is, a refused export's run and a sweep's
parent run. Every page must show the contract (or the diff, or the comparison) without a download."""

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
    refused = run_cli(
        "experiment=multi_input", f"mlflow.tracking_uri={mlflow_server}", "mlflow.experiment_name=ui"
    )  # identity keys: they break version 1's clients
    assert refused.returncode == 5, refused.stderr
    swept = run_cli(
        "-m", "experiment=multi_input", "naming=identity,prefixed", "model.name=ui_sweep_${naming.policy}",
        f"mlflow.tracking_uri={mlflow_server}", "mlflow.experiment_name=ui_sweep",
    )  # fmt: skip
    assert swept.returncode == 0, swept.stderr[-3000:]
    client = MlflowClient(mlflow_server)
    experiment = client.get_experiment_by_name("ui")
    (run,) = client.search_runs([experiment.experiment_id], "attributes.status = 'FINISHED'")
    (refused_run,) = client.search_runs([experiment.experiment_id], "attributes.status = 'FAILED'")
    sweep = client.get_experiment_by_name("ui_sweep")
    (parent,) = client.search_runs([sweep.experiment_id], "tags.sigforge.sweeps.parent_run = 'true'")
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

            playwright.expect(body).to_contain_text("multi_input-v1")  # the LoggedModel's name

            def shows_the_contract(where: str) -> None:
                """The description's tables, rendered: keys, dtypes and shapes on the page itself."""
                table = page.locator("table", has_text="input_image").first
                playwright.expect(table).to_be_visible(timeout=60_000)
                for text in ("input_text", "int32", "[None, 28, 28, 1]", "tensorflow/serving/predict"):
                    playwright.expect(body).to_contain_text(text, timeout=30_000)
                playwright.expect(body).to_contain_text("TF Serving endpoints")
                shots[where] = page.screenshot(full_page=False)

            shots: dict[str, bytes] = {}
            (output,) = run.outputs.model_outputs
            page.goto(f"{mlflow_server}/#/experiments/{experiment.experiment_id}/models/{output.model_id}")
            shows_the_contract("logged_model")
            page.goto(f"{mlflow_server}/#/experiments/{experiment.experiment_id}/runs/{run.info.run_id}")
            shows_the_contract("run_overview")

            # The registered version page: source run and model, alias, description, contract tag.
            page.goto(f"{mlflow_server}/#/models/ui_model/versions/1")
            playwright.expect(body).to_contain_text("Source Model", timeout=60_000)
            playwright.expect(body).to_contain_text("latest_export")
            playwright.expect(body).to_contain_text(run.data.tags["sigforge.contract_digest"])
            shows_the_contract("registered_version")

            # A refused export: its FAILED run says why, with the diff as a table.
            page.goto(
                f"{mlflow_server}/#/experiments/{experiment.experiment_id}/runs/{refused_run.info.run_id}"
            )
            diff = page.locator("table", has_text="input 'input_image' removed").first
            playwright.expect(diff).to_be_visible(timeout=60_000)
            playwright.expect(body).to_contain_text("BREAKING")
            playwright.expect(body).to_contain_text("multi_input-v2")

            # A sweep's parent: every job, and where they differ.
            page.goto(f"{mlflow_server}/#/experiments/{sweep.experiment_id}/runs/{parent.info.run_id}")
            playwright.expect(body).to_contain_text("2 of 2 jobs reported a run, 2 finished", timeout=60_000)
            jobs = page.locator("table", has_text="ui_sweep_prefixed-v1").first
            playwright.expect(jobs).to_contain_text("ui_sweep_identity-v1")
            playwright.expect(body).to_contain_text("Where the finished jobs differ")
            if os.environ.get("SIGFORGE_UPDATE_SCREENSHOTS") == "1":
                (REPO / "docs" / "logged_model.png").write_bytes(shots["logged_model"])
        finally:
            browser.close()
