from cchc.connectors.store.repository import (
    QuarantineItem,
    Store,
    StoreError,
    SyncBusy,
    UpsertResult,
    safe_url,
)

__all__ = ["QuarantineItem", "Store", "StoreError", "SyncBusy", "UpsertResult", "safe_url"]
