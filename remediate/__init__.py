"""remediate: fleet-wide Windows remediation, dry run first."""

__version__ = "0.1.0"
