"""Schemathesis hooks for the fuzz gate (loaded through SCHEMATHESIS_HOOKS by tests/test_fuzz_openapi.py).

Bodies documented as XLSX (bank statements) are sent as raw bytes, like any binary upload.
"""
import schemathesis

schemathesis.serializer.alias("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                              "application/octet-stream")
