"""Ansible-compatible inventories: loading, variable precedence, host patterns, connection specs."""

from remediate.inventory.core import Inventory
from remediate.inventory.model import MASK, Group, Host, Origin, is_secret_name

__all__ = ["MASK", "Group", "Host", "Inventory", "Origin", "is_secret_name"]
