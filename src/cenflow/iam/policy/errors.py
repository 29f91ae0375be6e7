"""The errors a policy document can be refused with, and the size limits behind two of them.

Which code a caller sees depends on where the document came from, because Alibaba answers the same
mistake differently per API:

* RAM ``CreatePolicy`` / ``CreatePolicyVersion`` (identity policies) and ``CreateRole`` /
  ``UpdateRole`` (trust policies) refuse bad grammar with ``MalformedPolicyDocument``.  Alibaba's
  2022 notice on RAM's stricter grammar check names exactly those four operations and that code.
  An over-long identity policy is ``InvalidParameter.PolicyDocument.Length``.
* STS ``AssumeRole`` refuses its ``Policy`` parameter (the session policy) with
  ``InvalidParameter.PolicyGrammar`` or ``InvalidParameter.PolicySize``.

The parser raises :class:`GrammarError` internally (one precise sentence saying what is wrong and
where); the public entry points translate it into the :class:`~cenflow.errors.ApiError` of the
caller's API, with that sentence appended to the documented message.
"""

from __future__ import annotations

from cenflow.errors import ErrorSpec

# Identity policies: "1 to 6,144 characters" (CreatePolicy / CreatePolicyVersion parameter docs and
# the Length error's message).  Alibaba does not say whitespace is excluded, so every character of the
# string as sent counts, whitespace included; characters, not bytes, because both the parameter
# table and the error message speak of characters.
IDENTITY_POLICY_MAX_CHARS = 6144

# Session policies: AssumeRole documents "1 to 2,048 characters" for the parameter and "must be
# smaller than 2048 bytes" for the error.  We measure UTF-8 bytes (the stricter reading for
# non-ASCII text) and accept exactly 2048 (the parameter's documented inclusive range).
SESSION_POLICY_MAX_BYTES = 2048

# Trust policies: Alibaba documents no size for AssumeRolePolicyDocument.  We bound it like an
# identity policy so an unbounded document cannot be stored, and report it as malformed because
# the Length code names the PolicyDocument parameter, which CreateRole does not have.
TRUST_POLICY_MAX_CHARS = 6144

MALFORMED_POLICY_DOCUMENT = ErrorSpec("MalformedPolicyDocument", "The policy document is invalid.", 400)
POLICY_DOCUMENT_LENGTH = ErrorSpec(
    "InvalidParameter.PolicyDocument.Length",
    "The maximum length of the policy document is exceeded. "
    f"It must not exceed {IDENTITY_POLICY_MAX_CHARS} characters.",
    400,
)
SESSION_POLICY_GRAMMAR = ErrorSpec(
    "InvalidParameter.PolicyGrammar", "The parameter Policy has not passed grammar check.", 400
)
SESSION_POLICY_SIZE = ErrorSpec(
    "InvalidParameter.PolicySize", f"The size of Policy must be smaller than {SESSION_POLICY_MAX_BYTES} bytes.", 400
)

ERROR_CATALOGUE: tuple[ErrorSpec, ...] = (
    MALFORMED_POLICY_DOCUMENT,
    POLICY_DOCUMENT_LENGTH,
    SESSION_POLICY_GRAMMAR,
    SESSION_POLICY_SIZE,
)


class GrammarError(Exception):
    """A document broke the grammar; ``detail`` says what and where.  Never leaves this package."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
