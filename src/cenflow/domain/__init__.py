"""The business rules of CEN flow logs and the resources they refer to.  No I/O here."""
