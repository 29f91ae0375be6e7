"""Which operations exist: dispatch by (product version, action)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cenflow.api.context import CallContext
from cenflow.wire import errors as e
from cenflow.wire.spec import Args, OperationSpec

Handler = Callable[[CallContext, Args], dict[str, Any]]
ResourceResolver = Callable[[CallContext, Args], Sequence[str]]


def any_resource(ctx: CallContext, args: Args) -> Sequence[str]:
    del ctx, args
    return ("*",)


@dataclass(frozen=True)
class Product:
    name: str
    version: str
    host_id: str
    ram_service: str  # the RAM action prefix, e.g. "cen" for Cbn
    # Whether its mutations can change what collectors collect (see store.epochs).
    changes_collection: bool = False


@dataclass(frozen=True)
class Operation:
    product: Product
    action: str
    spec: OperationSpec
    handler: Handler
    resources: ResourceResolver = any_resource
    # Mutations run in a write transaction and honour ClientToken idempotency.
    mutating: bool = False
    # The RAM action; defaults to "<service>:<Action>".
    ram_action_name: str | None = None
    # Whether the call needs an authenticated RAM decision at all (STS GetCallerIdentity does not).
    authorize: bool = True

    @property
    def ram_action(self) -> str:
        return self.ram_action_name or f"{self.product.ram_service}:{self.action}"


@dataclass
class Registry:
    products: dict[str, Product] = field(default_factory=dict)
    operations: dict[tuple[str, str], Operation] = field(default_factory=dict)

    def add_product(self, product: Product) -> Product:
        self.products[product.version] = product
        return product

    def add(self, operation: Operation) -> None:
        key = (operation.product.version, operation.action)
        if key in self.operations:
            raise ValueError(f"operation {key} registered twice")
        self.operations[key] = operation

    def operation(
        self,
        product: Product,
        action: str,
        spec: OperationSpec,
        *,
        resources: ResourceResolver = any_resource,
        mutating: bool = False,
        authorize: bool = True,
    ) -> Callable[[Handler], Handler]:
        """Decorator form of :meth:`add`."""

        def register(handler: Handler) -> Handler:
            self.add(Operation(product, action, spec, handler, resources, mutating, None, authorize))
            return handler

        return register

    def find(self, version: str | None, action: str | None) -> Operation:
        if not version:
            raise e.MISSING_VERSION()
        product = self.products.get(version)
        if product is None:
            raise e.INVALID_VERSION(version=version[:64])
        if not action:
            raise e.MISSING_ACTION()
        operation = self.operations.get((version, action))
        if operation is None:
            raise e.INVALID_ACTION(action=action[:128])
        return operation

    def product_for(self, version: str | None) -> Product | None:
        return self.products.get(version or "")
