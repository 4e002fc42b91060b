"""One query module per resource; SQL composed with psycopg.sql, rows read into typed classes."""
