"""A site worker acts only on what the controller recorded: a batch message whose mode, -e values
or playbook differ from the run row is refused (a forged or buggy message must not turn a dry
run into an apply); and a worker reads its own vault passwords (never the broker's)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

pytest.importorskip("celery")

from remediate.distributed.payload import Payload
from remediate.distributed.worker import SiteWorker, _unlike_the_run
from remediate.history.meta import vars_hash
from remediate.history.records import RunInfo
from remediate.history.store import Store
from remediate.inventory.setup import InventoryOptions, resolve
from tests.vault_tools import encrypt_file, password_file


def _run(**kw: object) -> RunInfo:
    base: dict[str, object] = dict(
        id=1, uuid="u", kind="run", playbook="/p.yml", playbook_hash="a" * 64, inventory="/i.yml",
        inventory_hash="b" * 64, pattern=None, mode="dry_run", vars_hash=vars_hash({"kms_host": "kms01"}),
        operator="o", controller="c", version="v", started=datetime.now(UTC), finished=None,
        status="running", exit_code=None, host_count=1,
    )  # fmt: skip
    base.update(kw)
    return RunInfo(**base)  # type: ignore[arg-type]


def _payload(**kw: object) -> Payload:
    base: dict[str, object] = dict(
        run_uuid="u", site="a", playbook="p.yml", playbook_hash="a" * 64, hosts=[("H", "h")],
        extra_vars={"kms_host": "kms01"}, apply=False,
    )  # fmt: skip
    base.update(kw)
    return Payload(**base)  # type: ignore[arg-type]


def test_a_batch_must_be_the_run_the_controller_recorded() -> None:
    assert _unlike_the_run(_payload(), _run()) is None
    # before: the worker took apply and -e from the message
    assert "mode" in (_unlike_the_run(_payload(apply=True), _run()) or "")
    assert "-e" in (_unlike_the_run(_payload(extra_vars={"kms_host": "evil"}), _run()) or "")
    assert "playbook" in (_unlike_the_run(_payload(playbook_hash="c" * 64), _run()) or "")


def test_a_worker_reads_its_site_inventory_with_its_own_vault_password(tmp_path: Path) -> None:
    inv = tmp_path / "site.yml"
    inv.write_text("all:\n  children:\n    windows:\n      hosts:\n        H1: {ansible_host: 10.0.0.1}\n")
    gv = tmp_path / "group_vars" / "windows"
    gv.mkdir(parents=True)
    (gv / "vault.yml").write_text("ansible_password: S3cret-pw\nansible_user: admin\n", encoding="utf-8")
    pw = password_file(tmp_path, "vault-pass")
    encrypt_file(gv / "vault.yml", pw)
    db = f"sqlite:///{tmp_path / 'h.db'}"
    Store.open(db, create=True).close()
    setup = resolve(InventoryOptions((str(inv),), (), (str(pw),)), prompt=None)
    worker = SiteWorker("a", inv, broker="redis://127.0.0.1:9/0", db=db, setup=setup)
    playbook = Path(__file__).parents[1] / "integration" / "playbooks" / "activate.yml"
    from remediate.history.meta import file_hash

    targets = worker._load(playbook, _payload(playbook_hash=file_hash(playbook), extra_vars={}))
    assert [h.name for h in targets.hosts] == ["H1"]  # before: "vault-encrypted file but no vault password"
