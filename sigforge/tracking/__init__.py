"""The MLflow stage, split by job. MLflow itself is imported only inside functions, and only when
``mlflow.enabled`` is true (or by ``sigforge log``, ``sigforge diff`` and a sweep's parent run).

- ``lifecycle``: one export's run from start to end; the pipeline drives it
- ``run``: the run in this process (artifacts, LoggedModel, metrics); ``background``: the same in a helper process
- ``registry``: the contract guard and registry versions
- ``mlmodel``: the ``MLmodel`` around a SavedModel; ``sigforge_pyfunc``: its serving entry
- ``store``: which store, which experiment, standard tags; ``params``: params and redaction
"""

import os

from sigforge.errors import RegistrationRefused, TrackingConfigError, TrackingError

# MLflow's own "View run ... at: <url>" line goes to stdout (which carries what scripts read), names
# the tracking URI with any credentials in it, and starts with an emoji a console in a non-UTF-8
# locale cannot encode (the run was then left RUNNING). sigforge prints its own line, redacted.
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")

__all__ = ["RegistrationRefused", "TrackingConfigError", "TrackingError"]
