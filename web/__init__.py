"""The built-in web console: server-rendered pages for DOST, vendors, finance and admins."""
