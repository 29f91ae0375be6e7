"""cenflow: self-hosted Alibaba Cloud CEN flow logs."""

__version__ = "0.1.0"
