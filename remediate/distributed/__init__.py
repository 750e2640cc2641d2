"""Past one controller: a run's hosts dispatched by site to Celery workers on a Redis broker.

`remediate run --workers URL` (controller.py) loads and validates the run as a local run does,
opens its row in the shared history store, and sends one task per batch of a site's hosts to that
site's queue; `remediate worker --site S` (worker.py) runs the engine for those batches with its
own inventory and credentials and records each host in the store as it finishes. Only the CLI
imports this package (.importlinter). docs/workers.md: deployment and threat model.
"""
