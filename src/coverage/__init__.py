"""coverage: behavioral-health benefit verification and treatment-cost estimates."""
