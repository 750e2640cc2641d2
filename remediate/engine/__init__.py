"""The engine: run a playbook on a fleet (see scheduler.py for the flow, hostrun.py per host)."""

from remediate.engine.events import RunEvents
from remediate.engine.scheduler import RunOptions, make_transport, run_playbook

__all__ = ["RunEvents", "RunOptions", "make_transport", "run_playbook"]
