"""Presentation: what a person reads (Word documents, spreadsheets, texts)."""
