"""Flask application factory and one blueprint per audience."""
