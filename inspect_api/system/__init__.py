"""The service's own endpoints: health and version, and the working-day calendar (which years are
official, imported or assumed; importing a year's holiday table). HTTP over core, so core never
imports auth."""
