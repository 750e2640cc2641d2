"""Throwaway Debian services for tests (PostgreSQL...), installed when missing as root and
started on free loopback ports; each module is stdlib-only so conftest can import it early."""
