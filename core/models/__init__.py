"""Core ORM models. Importing this package registers every core table."""
from core.models.geo import AdministrativeUnit  # noqa: F401
from core.models.catalogue import Producer, Product, ProductImage, Variant, Certification  # noqa: F401
from core.models.accounts import User, ApiToken  # noqa: F401
from core.models.audit import AuditEvent  # noqa: F401
from core.models.notifications import Notification  # noqa: F401
from core.models.inventory import SalesChannel, Stock, StockLocation, StockLot, StockMovement  # noqa: F401
from core.models.cache import CatalogueVersion  # noqa: F401
from core.models.orders import (Checkout, CheckoutLine, Fulfilment, FulfilmentLine, Order, OrderEvent,  # noqa: F401
                                 OrderLine, OrderNumberCounter, Payment, PaymentEvent, Refund)
from core.models.search import SearchDocument, SearchDocumentSource, SearchOutbox  # noqa: F401
