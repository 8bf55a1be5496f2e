"""Role-based access control: who may do what to whom (the admin authorization rule)."""
