"""The service desk's numbers, computed from the stored records: each metric's definition is
written beside its SQL (`ivr.metrics.definitions`), the monthly report (`ivr.metrics.report`)
and the dashboard's live numbers (`ivr.metrics.live`) are made of them."""
