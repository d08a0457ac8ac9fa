"""Field audits from the phone: visits, checklist responses, findings, photo evidence, and sync."""
