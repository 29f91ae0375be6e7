"""``cenflow topology apply``: CEN, transit routers, attachments and binding tags from one file."""
