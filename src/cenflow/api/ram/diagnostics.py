"""DecodeDiagnosticMessage: what an ``AccessDeniedDetail.EncodedDiagnosticMessage`` says."""

from __future__ import annotations

from typing import Any

from cenflow.api.context import CallContext
from cenflow.api.ram import RAM
from cenflow.api.ram.common import iam
from cenflow.api.registry import Operation
from cenflow.wire.spec import Args, OperationSpec, Param

DECODE = OperationSpec((Param("EncodedDiagnosticMessage", required=True),))


def decode_diagnostic_message(ctx: CallContext, args: Args) -> dict[str, Any]:
    message = iam(ctx).diagnostics.decode(args.text("EncodedDiagnosticMessage"), ctx.account_id)
    return {"DecodedDiagnosticMessage": message}


OPERATIONS = [Operation(RAM, "DecodeDiagnosticMessage", DECODE, decode_diagnostic_message)]
