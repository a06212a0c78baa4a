"""Administrative units have no object-level checks: everyone reads them, admins change them (route role gates)."""
