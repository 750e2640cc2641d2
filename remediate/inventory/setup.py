"""Which inventories to load and with which vault passwords: command line > ANSIBLE_* > ansible.cfg.

Vault passwords combine like Ansible's CLI (cli/__init__.py `setup_vault_secrets`): the
vault_identity_list of ansible.cfg/$ANSIBLE_VAULT_IDENTITY_LIST first, then every --vault-id, then
every --vault-password-file, then vault_password_file of ansible.cfg/$ANSIBLE_VAULT_PASSWORD_FILE.
All are read here, before any host is contacted; each is tried when decrypting.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from remediate.core.errors import ConfigError
from remediate.inventory.ansible_cfg import AnsibleConfig, load_config
from remediate.inventory.model import Origin
from remediate.inventory.vault import VaultKeys, load_keys


@dataclass(frozen=True)
class InventoryOptions:
    """What the command line said (empty: let ansible.cfg and the environment decide)."""

    inventory: tuple[str, ...] = ()
    vault_ids: tuple[str, ...] = ()
    vault_password_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class InventorySetup:
    """The resolved sources, vault passwords and per-host defaults for Inventory.load."""

    sources: tuple[str, ...]
    vault: VaultKeys
    defaults: Mapping[str, tuple[Any, Origin]] = field(default_factory=dict)
    forks: int | None = None  # from ansible.cfg / $ANSIBLE_FORKS (None: remediate's default)
    config: AnsibleConfig = field(default_factory=AnsibleConfig)

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.config.warnings


NO_INVENTORY = (
    "no inventory: pass -i FILE, set ANSIBLE_INVENTORY, or set `inventory` under [defaults] in ansible.cfg"
)


def resolve(
    options: InventoryOptions,
    *,
    prompt: Callable[[str], str] | None = None,
    config: AnsibleConfig | None = None,
) -> InventorySetup:
    """Apply the precedence and read every vault password (ConfigError when one cannot be read)."""
    cfg = load_config() if config is None else config
    sources = options.inventory or cfg.inventory
    if not sources:
        raise ConfigError(NO_INVENTORY)
    files = list(options.vault_password_files)
    if cfg.vault_password_file and cfg.vault_password_file not in files:
        files.append(cfg.vault_password_file)
    keys = load_keys([*cfg.vault_identity_list, *options.vault_ids], files, prompt=prompt)
    defaults: dict[str, tuple[Any, Origin]] = {}
    if cfg.host_key_checking is not None:
        where = cfg.origins.get("host_key_checking", "ansible.cfg")
        defaults["ansible_host_key_checking"] = (
            cfg.host_key_checking,
            Origin(None if where.startswith("$") else where, None, f"{where} host_key_checking"),
        )
    return InventorySetup(tuple(sources), keys, defaults, cfg.forks, cfg)
