"""Domain logic shared by routes and jobs."""
