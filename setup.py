"""Package discovery that pyproject.toml cannot say: conf/ ships inside the package as sigforge.conf.

Every package under sigforge/ is found automatically, and so is every folder of the config tree,
so a new config group or subpackage needs no edit here.
"""

from setuptools import find_namespace_packages, find_packages, setup

CONF = "sigforge.conf"
conf_packages = [CONF] + [f"{CONF}.{name}" for name in find_namespace_packages(where="conf")]

setup(
    packages=find_packages(include=["sigforge", "sigforge.*"]) + conf_packages,
    package_dir={CONF: "conf"},
    package_data={package: ["*.yaml"] for package in conf_packages},
)
