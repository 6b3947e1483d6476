"""The web page: layout, jobs and the runs it offers."""
