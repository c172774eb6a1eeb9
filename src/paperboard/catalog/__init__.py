"""The paper catalogue: ids, records, storage, and the ways papers get in and out."""
