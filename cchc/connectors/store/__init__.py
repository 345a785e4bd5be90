from cchc.connectors.store.repository import QuarantineItem, Store, StoreError, UpsertResult, safe_url

__all__ = ["QuarantineItem", "Store", "StoreError", "UpsertResult", "safe_url"]
