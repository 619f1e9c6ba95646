"""target-mongo-upsert: keyed, idempotent bulk upserts of Singer records into MongoDB."""
