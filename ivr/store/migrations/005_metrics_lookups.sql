-- Repeat complaints (ivr/metrics/cases.py): "did this case already have a complaint wrap-up
-- before this one?" is one probe of this index per complaint, not a scan of earlier ones.
CREATE INDEX case_events_complaints_by_case ON case_events (case_id, at)
  WHERE kind = 'wrapped_up' AND data ->> 'case_kind' = 'complaint';
