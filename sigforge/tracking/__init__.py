"""The MLflow stage, split by job. MLflow itself is imported only inside functions, and only when
``mlflow.enabled`` is true (or by ``sigforge log``, ``sigforge diff`` and a sweep's parent run).

- ``lifecycle``: one export's run from start to end; the pipeline drives it
- ``run``: the run in this process (artifacts, LoggedModel, metrics); ``background``: the same in a helper process
- ``registry``: the contract guard and registry versions
- ``mlmodel``: the ``MLmodel`` around a SavedModel; ``sigforge_pyfunc``: its serving entry
- ``store``: which store, which experiment, standard tags; ``params``: params and redaction
"""

from sigforge.errors import RegistrationRefused, TrackingConfigError, TrackingError

__all__ = ["RegistrationRefused", "TrackingConfigError", "TrackingError"]
