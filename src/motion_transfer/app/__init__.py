"""The web page: `page` serves it, `layout` lays it out, `actions` holds what its lists and buttons
do, `commands` the command lines of its jobs, `jobs` runs them, `runs` finds the clips, runs and
reports it offers, `settings` checks its options."""
