"""Throwaway Debian services for tests (PostgreSQL, Redis, Chromium), installed when missing as root
and started on free loopback ports; each module is stdlib-only so conftest can import it early."""
