"""SLA thresholds, their evaluation against aggregated results, and reports."""
