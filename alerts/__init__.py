"""Alert rules, root-cause incidents, tickets, routing and notifiers (issue 7)."""
