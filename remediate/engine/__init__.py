"""The engine: run a playbook on a fleet (see scheduler.py for the flow, hostrun.py per host,
plan.py for the fix policy). It writes nothing: observers (RunEvents) do."""

from remediate.engine.events import Observers, RunEvents
from remediate.engine.options import RunOptions
from remediate.engine.scheduler import make_transport, run_playbook

__all__ = ["Observers", "RunEvents", "RunOptions", "make_transport", "run_playbook"]
