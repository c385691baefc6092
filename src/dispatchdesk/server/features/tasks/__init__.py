"""Tasks for the attending officers: made from policy on create and edit, recorded done or
not done, checked before an incident closes."""
