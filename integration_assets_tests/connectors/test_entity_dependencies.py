"""`EntitySpec.depends_on`: which entities a vendor's entity must follow in a run, as data."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from integration_assets.connectors import get_connector


def _with_dependencies(vendor: str, **depends_on: tuple[str, ...]) -> dict:
    spec = get_connector(vendor).model_dump()
    for entity in spec["entities"]:
        entity["depends_on"] = depends_on.get(entity["name"], ())
    return spec


def test_shopify_orders_follow_the_customers_and_products_they_reference() -> None:
    shopify = get_connector("shopify")

    assert shopify.entity("orders").depends_on == ("customers", "products")
    assert shopify.entity("customers").depends_on == ()


def test_a_dependency_on_an_entity_the_vendor_lacks_is_refused_naming_it() -> None:
    spec = _with_dependencies("shopify", orders=("customers", "invoices"))

    with pytest.raises(ValidationError, match=r"shopify/orders: depends_on names \['invoices'\]"):
        type(get_connector("shopify")).model_validate(spec)


def test_a_dependency_cycle_is_refused() -> None:
    spec = _with_dependencies("shopify", orders=("customers",), customers=("orders",))

    with pytest.raises(ValidationError, match="depends_on forms a cycle"):
        type(get_connector("shopify")).model_validate(spec)
