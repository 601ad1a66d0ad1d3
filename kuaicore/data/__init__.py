"""Reading, validating, generating and streaming KuaiRec data.

Only this package and `features` import duckdb.
"""
