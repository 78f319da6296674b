"""MHPAEA parity: the plan file's [parity] schema, the tests, their explanations and the report."""
