"""Worker Versioning: the build of the worker code a run starts on is the one it ends on.

A run is pinned to the build that took its first workflow task: its later tasks, activities and
queries go only to workers of that build, whatever build is current when a reviewer answers days
later. New runs start on the deployment's current build (``agentrun deploy current``). See
docs/code-deploys.md.
"""

from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.worker import WorkerDeploymentConfig

from agentrun.settings import Settings


def deployment_config(settings: Settings) -> WorkerDeploymentConfig | None:
    """Pinned versioning when the settings name a deployment and build; None: unversioned."""
    if settings.deployment_name is None or settings.build_id is None:
        return None
    return WorkerDeploymentConfig(
        version=WorkerDeploymentVersion(
            deployment_name=settings.deployment_name, build_id=settings.build_id
        ),
        use_worker_versioning=True,
        # Every workflow of the worker: AgentRun runs parked in review, rollouts and evaluations
        # that last hours alike would otherwise replay on code they did not start with.
        default_versioning_behavior=VersioningBehavior.PINNED,
    )
