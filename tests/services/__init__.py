"""Debian services the tests install (as root) and start on loopback when missing."""
