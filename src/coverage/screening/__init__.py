"""Admissions screening: answers (`answers`) and the rubric that recommends a level (`rubric`)."""
