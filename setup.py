"""Package layout (the rest of the metadata is in pyproject.toml).

The project keeps the requested top-level folders ``assets/``, ``resources/`` and ``sql/``,
but installs them inside its own namespace, as ``lifecycle_pipeline.assets``,
``lifecycle_pipeline.resources`` and ``lifecycle_pipeline.sql``: the only top-level name
the distribution adds is ``lifecycle_pipeline``. Data folders (SQL families, templates)
are listed as packages too, so setuptools ships them without warnings.
"""

from setuptools import find_namespace_packages, setup

MAPPED = {"assets": "assets", "resources": "resources", "sql": "sql"}
EXCLUDE = ["*.__pycache__", "*.egg-info"]

packages = ["lifecycle_pipeline"] + [
    f"lifecycle_pipeline.{name}" for name in find_namespace_packages("lifecycle_pipeline", exclude=EXCLUDE)
]
package_dir = {"lifecycle_pipeline": "lifecycle_pipeline"}
for name, folder in MAPPED.items():
    package_dir[f"lifecycle_pipeline.{name}"] = folder
    packages.append(f"lifecycle_pipeline.{name}")
    packages += [f"lifecycle_pipeline.{name}.{sub}" for sub in find_namespace_packages(folder, exclude=EXCLUDE)]

setup(packages=packages, package_dir=package_dir)
